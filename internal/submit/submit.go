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
	"fmt"
	"io"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/seal/sealwire"
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
	// PeerName, if set, is the aggregator name the peer's certificate must
	// carry (a tree leaf dialling its root).
	PeerName string
}

// Connect opens the connection. No RPC can run on it unless the
// aggregator's evidence verifies and binds a key for d.Round.
func (d Dial) Connect() (*grpc.ClientConn, error) {
	creds, err := atls.NewClientCredentials(atls.Config{
		TLS: d.TLS, Context: atls.Context{Federation: d.Federation},
		Verifier: d.Verifier, Required: true, Issuer: d.Issuer, OnHandshake: d.OnHandshake,
		CheckPeer: func(_ context.Context, peer pki.Identity, _ *tee.Claims, binding []byte) error {
			return d.checkPeer(peer, binding)
		},
	})
	if err != nil {
		return nil, err
	}
	// sealwire.Codec: gRPC's proto codec, except that sealed chunks sent
	// with SendSealedStream are not copied.
	return grpc.NewClient(d.Address, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(sealwire.Codec{})))
}

// checkPeer refuses an aggregator other than PeerName (when set) and one
// whose attested binding carries no round key for d.Round.
func (d Dial) checkPeer(peer pki.Identity, binding []byte) error {
	if d.PeerName != "" && peer.Name != d.PeerName {
		return fmt.Errorf("the peer is aggregator %q, not %q", peer.Name, d.PeerName)
	}
	b, err := seal.ParseAggregatorBinding(binding)
	if err != nil {
		return err
	}
	_, err = b.KeyFor(d.Round)
	return err
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
// bytes; the last chunk is marked as such (an empty input is one empty final
// chunk). An io.EOF from send (the aggregator answered early) ends the
// stream without error: the caller's CloseAndRecv says why. Every chunk is
// sealed into a new buffer, since send may keep the message; see
// SendSealedStream for the path that reuses them.
func SendSealed(r io.Reader, chunkSize int, s *seal.Sealer, send func(*confedv1.SubmitUpdateRequest) error) error {
	return eofIsAnswer(readChunks(r, chunkSize, func(seq uint64, plain []byte, last bool) error {
		ct, err := s.Seal(seq, plain, last)
		if err != nil {
			return err
		}
		return send(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{
			SealedChunk: &confedv1.SealedChunk{Seq: seq, Ciphertext: ct, Last: last}}})
	}))
}

// SendSealedStream is SendSealed through a stream's SendMsg (the
// SubmitUpdate client stream's): each chunk is sealed into a buffer of a
// small pool and sent as a sealwire.Outgoing, which the connection's codec
// (Dial.Connect sets sealwire.Codec) hands to the transport without a copy
// and returns to the pool once written. On a connection without that codec
// it still works, with gRPC's copy and a new buffer per chunk.
func SendSealedStream(r io.Reader, chunkSize int, s *seal.Sealer, sendMsg func(any) error) error {
	pool := sealedBuffers
	return eofIsAnswer(readChunks(r, chunkSize, func(seq uint64, plain []byte, last bool) error {
		buf := pool.Get(len(plain) + seal.Overhead)
		ct, err := s.SealTo((*buf)[:0], seq, plain, last)
		if err != nil {
			return err
		}
		*buf = ct
		return sendMsg(sealwire.NewOutgoing(seq, buf, last, pool))
	}))
}

// sealedBuffers and plainBuffers keep the chunk buffers of past streams for
// the next ones (a few MiB at most).
var (
	sealedBuffers = sealwire.NewPool(8)
	plainBuffers  = sealwire.NewPool(4)
)

// eofIsAnswer maps the io.EOF with which gRPC's Send reports a stream the
// server has already answered to nil.
func eofIsAnswer(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// readChunks reads r to the end in chunks of chunkSize bytes, reading one
// chunk ahead so that the last one is known as such, and calls emit for
// each. The plaintext passed to emit is reused after it returns.
func readChunks(r io.Reader, chunkSize int, emit func(seq uint64, plain []byte, last bool) error) error {
	if chunkSize <= 0 || chunkSize > seal.MaxPlaintextChunk {
		return fmt.Errorf("chunk size %d out of range (1..%d)", chunkSize, seal.MaxPlaintextChunk)
	}
	b1, b2 := plainBuffers.Get(chunkSize), plainBuffers.Get(chunkSize)
	defer plainBuffers.Put(b1)
	defer plainBuffers.Put(b2)
	cur, next := *b1, *b2
	n, err := io.ReadFull(r, cur)
	for seq := uint64(0); ; seq++ {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return emit(seq, cur[:n], true)
		}
		if err != nil {
			return fmt.Errorf("reading chunk %d: %w", seq, err)
		}
		m, err2 := io.ReadFull(r, next)
		if m == 0 && errors.Is(err2, io.EOF) {
			return emit(seq, cur, true)
		}
		if err := emit(seq, cur, false); err != nil {
			return fmt.Errorf("sending chunk %d: %w", seq, err)
		}
		cur, next, n, err = next, cur, m, err2
	}
}
