package seal

import (
	"bytes"
	"crypto/hpke"
	"crypto/subtle"
	"fmt"
	"sync"
)

// Opener opens one sealed stream. It is safe for concurrent use, but the
// chunks of a stream are one ordered sequence.
type Opener struct {
	mu   sync.Mutex
	key  *RoundKey
	c    *chunkAEAD // nil once the stream is over
	aad  []byte     // AAD prefix, with spare capacity for seq and last
	next uint64
	done bool  // the final chunk was accepted
	err  error // first refusal; sticky
}

// NewOpener checks a stream header (from Sealer.Header; the enc argument of
// the protocol) against ctx, which the aggregator fills from its own state
// and the client certificate, decapsulates it with key, confirms the key and
// refuses a header already opened with key.
func NewOpener(key *RoundKey, header []byte, ctx Context) (*Opener, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil round key", ErrKeyDestroyed)
	}
	if err := ctx.validate(); err != nil {
		return nil, err
	}
	h, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	// The claimed binding in clear: only for a precise error. Cryptography
	// below uses ctx, never these fields.
	switch {
	case string(h.federation) != ctx.Federation:
		return nil, fmt.Errorf("%w: sealed for %q, this is %q", ErrWrongFederation, h.federation, ctx.Federation)
	case h.round != ctx.Round:
		return nil, fmt.Errorf("%w: sealed for round %d, this is round %d", ErrWrongRound, h.round, ctx.Round)
	case !bytes.Equal(h.measurement, ctx.AggregatorMeasurement):
		return nil, fmt.Errorf("%w: sealed for %x, this aggregator is %x", ErrWrongMeasurement, h.measurement, ctx.AggregatorMeasurement)
	case string(h.participant) != ctx.Participant:
		return nil, fmt.Errorf("%w: sealed as %q, submitted by %q", ErrWrongParticipant, h.participant, ctx.Participant)
	}
	priv, err := key.privateKey()
	if err != nil {
		return nil, err
	}
	kdf, aead := suite()
	r, err := hpke.NewRecipient(h.enc, priv, kdf, aead, ctx.info())
	if err != nil {
		return nil, fmt.Errorf("%w: decapsulation: %v", ErrMalformedHeader, err)
	}
	confirm, err := r.Export(labelConfirm, ConfirmSize)
	if err != nil {
		return nil, fmt.Errorf("seal: deriving key confirmation: %w", err)
	}
	if subtle.ConstantTimeCompare(confirm, h.confirm) != 1 {
		return nil, ErrKeyMismatch
	}
	c, err := newChunkAEAD(r.Export)
	if err != nil {
		return nil, err
	}
	if err := key.remember(h.enc); err != nil {
		return nil, err
	}
	return &Opener{key: key, c: c, aad: ctx.aadPrefix()}, nil
}

// Open authenticates and decrypts chunk seq, which must be the next one;
// last is the final-chunk flag that travelled with it. The first refusal
// ends the stream: every later call returns ErrStreamFailed wrapping it.
func (o *Opener) Open(seq uint64, ciphertext []byte, last bool) ([]byte, error) {
	return o.OpenTo(nil, seq, ciphertext, last)
}

// OpenTo is Open appending the plaintext to dst. With dst =
// ciphertext[:0] the chunk is opened in place, in the ciphertext's own
// buffer; nothing of the plaintext is written unless the chunk
// authenticates (a refused chunk leaves that buffer's contents undefined).
func (o *Opener) OpenTo(dst []byte, seq uint64, ciphertext []byte, last bool) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStreamFailed, o.err)
	}
	pt, err := o.open(dst, seq, ciphertext, last)
	if err != nil {
		o.fail(err)
		return nil, err
	}
	return pt, nil
}

func (o *Opener) open(dst []byte, seq uint64, ciphertext []byte, last bool) ([]byte, error) {
	switch {
	case o.key.Destroyed():
		return nil, ErrKeyDestroyed
	case o.done:
		return nil, fmt.Errorf("%w: chunk %d after the final chunk %d", ErrAfterLast, seq, o.next-1)
	case seq < o.next:
		return nil, fmt.Errorf("%w: chunk %d again, next is %d", ErrDuplicate, seq, o.next)
	case seq > o.next:
		return nil, fmt.Errorf("%w: got chunk %d, want %d", ErrOutOfOrder, seq, o.next)
	case len(ciphertext) > MaxCiphertextChunk:
		return nil, fmt.Errorf("%w: chunk %d has %d bytes, at most %d", ErrChunkTooLarge, seq, len(ciphertext), MaxCiphertextChunk)
	case len(ciphertext) < Overhead:
		return nil, fmt.Errorf("%w: chunk %d has %d bytes, shorter than the %d-byte tag", ErrTampered, seq, len(ciphertext), Overhead)
	}
	pt, err := o.c.open(dst, seq, ciphertext, appendAAD(o.aad, seq, last))
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %d (last=%t): modified, from another stream, or with a wrong final-chunk flag", ErrTampered, seq, last)
	}
	o.next++
	if last {
		o.done = true
		o.c = nil
	}
	return pt, nil
}

// fail records the first refusal and drops the chunk key.
func (o *Opener) fail(err error) {
	o.err = err
	o.c = nil
}

// Finish reports whether the stream ended properly: its final chunk was
// accepted and nothing was refused. It refuses a truncated stream with
// ErrTruncated. Finish drops the stream's chunk key.
func (o *Opener) Finish() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return fmt.Errorf("%w: %w", ErrStreamFailed, o.err)
	}
	if !o.done {
		o.fail(fmt.Errorf("%w: %d chunks received", ErrTruncated, o.next))
		return o.err
	}
	return nil
}

// Chunks is the number of chunks accepted so far.
func (o *Opener) Chunks() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next
}
