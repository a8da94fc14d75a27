package participant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/stream"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// dialAggregator connects to the round's aggregator over the attested
// transport: no byte of the update is sent unless the aggregator's evidence
// verifies against this participant's policy, binds this very connection,
// and carries a round key for this round.
// The refusal, if the handshake refuses the aggregator, is stored in
// refused so that the participant can tell the coordinator why.
func (d *daemon) dialAggregator(t *confedv1.Task, refused *atomic.Pointer[error]) (*grpc.ClientConn, error) {
	host, _, err := net.SplitHostPort(t.GetAggregatorAddress())
	if err != nil {
		return nil, fmt.Errorf("aggregator address %q: %w", t.GetAggregatorAddress(), err)
	}
	tlsCfg, err := pki.ClientTLSFor(pki.Files(d.cfg.TLS), host, pki.RoleAggregator)
	if err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	round := t.GetRound()
	var issuer tee.Issuer
	if t.GetAttest() {
		if d.issuer == nil {
			return nil, errors.New("the federation requires participants to attest, but this participant's attest_as is none")
		}
		issuer = d.issuer
	}
	creds, err := atls.NewClientCredentials(atls.Config{
		Issuer: issuer,
		TLS:    tlsCfg, Context: atls.Context{Federation: d.id.Federation},
		Verifier: d.verifier, Required: true,
		CheckPeer: func(_ context.Context, _ pki.Identity, _ *tee.Claims, binding []byte) error {
			b, err := seal.ParseAggregatorBinding(binding)
			if err != nil {
				return err
			}
			_, err = b.KeyFor(round)
			return err
		},
		OnHandshake: func(ev atls.Event) {
			if ev.Err != nil {
				refused.Store(&ev.Err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("attested transport: %w", err)
	}
	return grpc.NewClient(t.GetAggregatorAddress(), grpc.WithTransportCredentials(creds))
}

// sealerFor seals to the round key of the attested aggregator at the other
// end of the stream whose context is ctx.
func (d *daemon) sealerFor(ctx context.Context, t *confedv1.Task) (*seal.Sealer, error) {
	ai, ok := atls.AuthInfoFromContext(ctx)
	if !ok || !ai.Attested() {
		return nil, errors.New("the connection to the aggregator is not attested")
	}
	b, err := seal.ParseAggregatorBinding(ai.PeerBinding)
	if err != nil {
		return nil, err
	}
	key, err := b.KeyFor(t.GetRound())
	if err != nil {
		return nil, err
	}
	return seal.NewSealer(key, seal.Context{
		Federation: d.id.Federation, Round: t.GetRound(),
		AggregatorMeasurement: ai.PeerClaims.Measurement, Participant: d.id.Name,
	})
}

// sendSealed streams the payload as sealed chunks. One chunk is held back
// so that the last one can be marked as such.
func sendSealed(p payload, s *seal.Sealer, send func(*confedv1.SubmitUpdateRequest) error) error {
	var held []byte
	var seq uint64
	flush := func(last bool) error {
		ct, err := s.Seal(seq, held, last)
		if err != nil {
			return err
		}
		seq++
		return send(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{
			SealedChunk: &confedv1.SealedChunk{Seq: seq - 1, Ciphertext: ct, Last: last}}})
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(p.write(pw)) }()
	defer pr.CloseWithError(io.ErrClosedPipe)
	_, err := stream.Send(pr, stream.DefaultChunkSize, func(c *confedv1.Chunk) error {
		if held != nil {
			if err := flush(false); err != nil {
				return err
			}
		}
		held = append(held[:0], c.GetData()...)
		return nil
	})
	if err != nil {
		return err
	}
	return flush(true)
}
