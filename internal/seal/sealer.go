package seal

import (
	"bytes"
	"crypto/hpke"
	"fmt"
	"math"
	"sync"
)

// Sealer seals one stream of chunks (one submission of one update). It is
// safe for concurrent use, which matters: HPKE's per-context nonce counter
// must never be used twice.
type Sealer struct {
	mu     sync.Mutex
	c      *chunkAEAD // nil once the final chunk is sealed
	header []byte
	aad    []byte // AAD prefix, with spare capacity for seq and last
	next   uint64
	done   bool
}

// NewSealer sets up a stream to the round public key pub, bound to ctx. It
// performs the KEM encapsulation; send Header once, before any chunk.
func NewSealer(pub []byte, ctx Context) (*Sealer, error) {
	if err := ctx.validate(); err != nil {
		return nil, err
	}
	if len(pub) != PublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidPublicKey, len(pub), PublicKeySize)
	}
	pk, err := hpke.MLKEM768X25519().NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	kdf, aead := suite()
	enc, s, err := hpke.NewSender(pk, kdf, aead, ctx.info())
	if err != nil {
		return nil, fmt.Errorf("seal: setting up the HPKE context: %w", err)
	}
	if len(enc) != EncSize {
		return nil, fmt.Errorf("seal: encapsulated key of %d bytes, want %d", len(enc), EncSize)
	}
	confirm, err := s.Export(labelConfirm, ConfirmSize)
	if err != nil {
		return nil, fmt.Errorf("seal: deriving key confirmation: %w", err)
	}
	c, err := newChunkAEAD(s.Export)
	if err != nil {
		return nil, err
	}
	return &Sealer{
		c:      c,
		header: ctx.marshalHeader(enc, confirm),
		aad:    ctx.aadPrefix(),
	}, nil
}

// Header returns the stream header to send once, before the chunks (see
// the package documentation for its layout).
func (s *Sealer) Header() []byte { return bytes.Clone(s.header) }

// Seal seals chunk seq. Chunks must be sealed in order starting at 0; the
// last one has last set, may be empty, and ends the stream. The result is
// len(plaintext)+Overhead bytes.
func (s *Sealer) Seal(seq uint64, plaintext []byte, last bool) ([]byte, error) {
	return s.SealTo(nil, seq, plaintext, last)
}

// SealTo is Seal appending the sealed chunk to dst, for a sender that
// reuses its buffers. dst must not overlap plaintext unless it is
// plaintext[:0] with room for Overhead more bytes.
func (s *Sealer) SealTo(dst []byte, seq uint64, plaintext []byte, last bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.done:
		return nil, fmt.Errorf("%w: chunk %d sealed after the final chunk %d", ErrAfterLast, seq, s.next-1)
	case seq != s.next:
		return nil, fmt.Errorf("%w: sealing chunk %d, next is %d", ErrOutOfOrder, seq, s.next)
	case len(plaintext) > MaxPlaintextChunk:
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrChunkTooLarge, len(plaintext), MaxPlaintextChunk)
	case len(plaintext) == 0 && !last:
		return nil, fmt.Errorf("%w: chunk %d", ErrEmptyChunk, seq)
	case seq == math.MaxUint64:
		return nil, fmt.Errorf("%w: sequence numbers exhausted", ErrChunkTooLarge)
	}
	ct := s.c.seal(dst, seq, plaintext, appendAAD(s.aad, seq, last))
	s.next++
	if last {
		s.done = true
		s.c = nil // drop the key: nothing more may be sealed
	}
	return ct, nil
}
