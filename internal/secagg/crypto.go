package secagg

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// signDomain prefixes every signed body, so a signature made here is never
// valid for anything else the identity key signs (TLS handshakes sign other
// contexts).
const signDomain = "confed secagg+ v1 signed message\x00"

// sign signs body with the participant's identity key.
func sign(s crypto.Signer, r io.Reader, body []byte) ([]byte, error) {
	if _, ok := s.Public().(ed25519.PublicKey); ok {
		return s.Sign(r, append([]byte(signDomain), body...), crypto.Hash(0))
	}
	d := digest(body)
	return s.Sign(r, d[:], crypto.SHA256)
}

// digest is SHA-256 of the domain and body, hashed without copying body.
func digest(body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(signDomain))
	h.Write(body)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// verify checks sig over body under key.
func verify(key crypto.PublicKey, body, sig []byte) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		d := digest(body)
		return ecdsa.VerifyASN1(k, d[:], sig)
	case ed25519.PublicKey:
		return ed25519.Verify(k, append([]byte(signDomain), body...), sig)
	}
	return false
}

// derive derives a 32-byte key from secret for this session and purpose.
func derive(secret []byte, session [32]byte, purpose string, ids ...uint32) ([]byte, error) {
	info := []byte("confed secagg+ v1 " + purpose)
	for _, id := range ids {
		info = binary.BigEndian.AppendUint32(info, id)
	}
	return hkdf.Key(sha256.New, secret, session[:], string(info), 32)
}

// shareAEAD is the authenticated encryption of shares from one participant
// to another: a key per direction, from their cipher-key agreement.
func shareAEAD(secret []byte, session [32]byte, from, to uint32) (cipher.AEAD, error) {
	k, err := derive(secret, session, "share", from, to)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// shareAD is the associated data of an encrypted share.
func shareAD(session [32]byte, from, to uint32) []byte {
	ad := append([]byte("confed secagg+ v1 share"), session[:]...)
	ad = binary.BigEndian.AppendUint32(ad, from)
	return binary.BigEndian.AppendUint32(ad, to)
}

// pairMaskKey is the PRG key of the pairwise mask of a and b, from their
// mask-key agreement; the same whichever of the two derives it.
func pairMaskKey(secret []byte, session [32]byte, a, b uint32) ([]byte, error) {
	return derive(secret, session, "pairwise mask", min(a, b), max(a, b))
}

// selfMaskKey is the PRG key of participant id's self mask.
func selfMaskKey(seed []byte, session [32]byte, id uint32) ([]byte, error) {
	return derive(seed, session, "self mask", id)
}

// commitment commits to participant id's self-mask seed (published in its
// signed share-keys message; the server checks reconstructions against it).
func commitment(seed []byte, session [32]byte, id uint32) []byte {
	h := sha256.New()
	h.Write([]byte("confed secagg+ v1 self-mask commitment"))
	h.Write(session[:])
	h.Write(binary.BigEndian.AppendUint32(nil, id))
	h.Write(seed)
	return h.Sum(nil)
}

// errLowOrder is an X25519 agreement with a low-order point.
var errLowOrder = errors.New("secagg: X25519 agreement failed (low-order public key)")

func wrapAgree(err error) error { return fmt.Errorf("%w: %w", errLowOrder, err) }
