package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// Chunk AEAD parameters.
const (
	// chunkKeySize is the AES-256 key of a stream's chunks.
	chunkKeySize = 32
	// chunkNonceSize is the GCM nonce size.
	chunkNonceSize = 12
)

// chunkAEAD seals and opens the chunks of one stream: AES-256-GCM under a
// key and base nonce exported from the stream's HPKE context, nonce of
// chunk seq = base ⊕ seq (big-endian in the last 8 bytes), as RFC 9180
// section 5.2 derives the nonces of its own AEAD. Unlike crypto/hpke's
// Seal and Open it writes into a caller's buffer, so a stream of 1 MiB
// chunks allocates nothing per chunk.
//
// A chunkAEAD is not safe for concurrent use (its Sealer or Opener holds
// its lock around every call).
type chunkAEAD struct {
	gcm   cipher.AEAD
	base  [chunkNonceSize]byte
	nonce [chunkNonceSize]byte // scratch, so that no call allocates
}

// exporter is hpke.Sender.Export or hpke.Recipient.Export.
type exporter func(exporterContext string, length int) ([]byte, error)

// newChunkAEAD derives the chunk key and base nonce from export. Both ends
// derive the same values from the same context, and they are independent of
// the key confirmation (different exporter contexts, RFC 9180 section 5.3).
func newChunkAEAD(export exporter) (*chunkAEAD, error) {
	key, err := export(labelChunkKey, chunkKeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: deriving the chunk key: %w", err)
	}
	defer clear(key)
	nonce, err := export(labelChunkNonce, chunkNonceSize)
	if err != nil {
		return nil, fmt.Errorf("seal: deriving the chunk nonce: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: chunk cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: chunk cipher: %w", err)
	}
	c := &chunkAEAD{gcm: gcm}
	copy(c.base[:], nonce)
	return c, nil
}

// nonceFor returns the nonce of chunk seq, in c's scratch.
func (c *chunkAEAD) nonceFor(seq uint64) []byte {
	c.nonce = c.base
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i, b := range s {
		c.nonce[chunkNonceSize-8+i] ^= b
	}
	return c.nonce[:]
}

// seal appends the ciphertext of chunk seq to dst.
func (c *chunkAEAD) seal(dst []byte, seq uint64, plaintext, aad []byte) []byte {
	return c.gcm.Seal(dst, c.nonceFor(seq), plaintext, aad)
}

// open appends the plaintext of chunk seq to dst, or fails without
// revealing any of it. dst may be ciphertext[:0] (in place).
func (c *chunkAEAD) open(dst []byte, seq uint64, ciphertext, aad []byte) ([]byte, error) {
	return c.gcm.Open(dst, c.nonceFor(seq), ciphertext, aad)
}
