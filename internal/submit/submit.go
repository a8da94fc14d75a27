// Package submit is the participant's side of handing an update to the
// aggregator: an attested connection that refuses an aggregator whose
// evidence fails the participant's policy or carries no key for the round,
// a sealer for the round key bound in that evidence, and the sealed stream.
// The participant daemon, the end-to-end tests and the benchmarks share it.
package submit

import (
	"context"
	"crypto/tls"
	"errors"
	"io"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/stream"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Dial describes an attested connection to the aggregator of one round.
type Dial struct {
	Address    string
	TLS        *tls.Config // pki.ClientTLSFor(..., pki.RoleAggregator)
	Federation string
	Round      uint64
	// Verifier checks the aggregator's evidence (required).
	Verifier tee.Verifier
	// Issuer, if set, proves the participant when the aggregator asks.
	Issuer tee.Issuer
	// OnHandshake, if set, sees every handshake's outcome.
	OnHandshake func(atls.Event)
}

// Connect opens the connection. No RPC can run on it unless the
// aggregator's evidence verifies and binds a key for d.Round.
func (d Dial) Connect() (*grpc.ClientConn, error) {
	round := d.Round
	creds, err := atls.NewClientCredentials(atls.Config{
		TLS: d.TLS, Context: atls.Context{Federation: d.Federation},
		Verifier: d.Verifier, Required: true, Issuer: d.Issuer, OnHandshake: d.OnHandshake,
		CheckPeer: func(_ context.Context, _ pki.Identity, _ *tee.Claims, binding []byte) error {
			b, err := seal.ParseAggregatorBinding(binding)
			if err != nil {
				return err
			}
			_, err = b.KeyFor(round)
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(d.Address, grpc.WithTransportCredentials(creds))
}

// Sealer seals to the round key that the attested aggregator at the other
// end of the stream whose context is ctx bound for round.
func Sealer(ctx context.Context, federation string, round uint64, participant string) (*seal.Sealer, error) {
	ai, ok := atls.AuthInfoFromContext(ctx)
	if !ok || !ai.Attested() {
		return nil, errors.New("the connection to the aggregator is not attested")
	}
	b, err := seal.ParseAggregatorBinding(ai.PeerBinding)
	if err != nil {
		return nil, err
	}
	key, err := b.KeyFor(round)
	if err != nil {
		return nil, err
	}
	return seal.NewSealer(key, seal.Context{
		Federation: federation, Round: round,
		AggregatorMeasurement: ai.PeerClaims.Measurement, Participant: participant,
	})
}

// SendSealed reads r to the end and sends it as sealed chunks of chunkSize
// bytes; one chunk is held back so that the last is marked as such. An io.EOF
// from send (the aggregator answered early) ends the stream without error:
// the caller's CloseAndRecv says why.
func SendSealed(r io.Reader, chunkSize int, s *seal.Sealer, send func(*confedv1.SubmitUpdateRequest) error) error {
	var held []byte
	var seq uint64
	flush := func(last bool) error {
		ct, err := s.Seal(seq, held, last)
		if err != nil {
			return err
		}
		msg := &confedv1.SealedChunk{Seq: seq, Ciphertext: ct, Last: last}
		seq++
		return send(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{SealedChunk: msg}})
	}
	_, err := stream.Send(r, chunkSize, func(c *confedv1.Chunk) error {
		if held != nil {
			if err := flush(false); err != nil {
				return err
			}
		}
		held = append(held[:0], c.GetData()...)
		return nil
	})
	if err == nil {
		err = flush(true)
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
