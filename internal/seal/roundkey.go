package seal

import (
	"bytes"
	"crypto/hpke"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
)

// RoundKey is the aggregator's key pair for one round. The private half
// never leaves memory; the public half is bound into the aggregator's
// attested claims by other code. A RoundKey is safe for concurrent use.
type RoundKey struct {
	mu        sync.RWMutex
	priv      hpke.PrivateKey // nil once destroyed
	seed      []byte          // the 32-byte X-Wing seed; zeroed by Destroy
	pub       []byte
	seen      map[[sha256.Size]byte]struct{}
	destroyed bool
}

// NewRoundKey generates a fresh MLKEM768-X25519 key pair from 32 bytes of
// rand (crypto/rand.Reader when rand is nil).
//
// Unlike Go 1.26's GenerateKey functions, which ignore their random source,
// NewRoundKey really reads rand: the key is as good as rand. Production code
// passes nil or crypto/rand.Reader; tests may pass a deterministic reader.
func NewRoundKey(rand io.Reader) (*RoundKey, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	seed := make([]byte, 32)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, fmt.Errorf("seal: reading randomness for the round key: %w", err)
	}
	priv, err := hpke.MLKEM768X25519().NewPrivateKey(seed)
	if err != nil {
		clear(seed)
		return nil, fmt.Errorf("seal: deriving the round key: %w", err)
	}
	pub := priv.PublicKey().Bytes()
	if len(pub) != PublicKeySize {
		clear(seed)
		return nil, fmt.Errorf("seal: public key of %d bytes, want %d", len(pub), PublicKeySize)
	}
	return &RoundKey{
		priv: priv,
		seed: seed,
		pub:  pub,
		seen: make(map[[sha256.Size]byte]struct{}),
	}, nil
}

// PublicKey returns a copy of the encoded public key (PublicKeySize bytes:
// ML-KEM-768 encapsulation key ‖ X25519 public key). It stays available
// after Destroy.
func (k *RoundKey) PublicKey() []byte { return bytes.Clone(k.pub) }

// Destroy zeroes what Go lets this package zero and makes the key unusable:
// NewOpener and every Opener made from k refuse with ErrKeyDestroyed from
// then on. See the package documentation for what Go cannot erase.
// Destroy is idempotent.
func (k *RoundKey) Destroy() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.destroyed {
		return
	}
	k.destroyed = true
	if k.priv != nil {
		// In Go 1.26 the hybrid private key's Bytes returns its internal
		// copy of the seed; zeroing it is best effort (if a later Go
		// returns a copy, this zeroes the copy).
		if b, err := k.priv.Bytes(); err == nil {
			clear(b)
		}
	}
	clear(k.seed)
	k.seed = nil
	k.priv = nil
	k.seen = nil
}

// Destroyed reports whether Destroy has been called.
func (k *RoundKey) Destroyed() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.destroyed
}

// privateKey returns the private key, or ErrKeyDestroyed.
func (k *RoundKey) privateKey() (hpke.PrivateKey, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.destroyed {
		return nil, ErrKeyDestroyed
	}
	return k.priv, nil
}

// remember records enc as opened; it refuses one already seen.
func (k *RoundKey) remember(enc []byte) error {
	id := sha256.Sum256(enc)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.destroyed {
		return ErrKeyDestroyed
	}
	if _, dup := k.seen[id]; dup {
		return fmt.Errorf("%w: this stream header was already opened with this round key", ErrReplayedStream)
	}
	if len(k.seen) >= MaxStreamsPerKey {
		return fmt.Errorf("%w: %d", ErrTooManyStreams, MaxStreamsPerKey)
	}
	k.seen[id] = struct{}{}
	return nil
}
