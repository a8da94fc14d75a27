// Package cose verifies (and, for tests, produces) COSE_Sign1 messages
// (RFC 9052) signed with ECDSA: the envelope of AWS Nitro attestation
// documents and of Arm CCA platform and realm tokens.
//
// Only what those formats use is supported: a protected header naming the
// algorithm (ES256, ES384 or ES512), no external AAD, an attached payload
// and a raw r||s signature. Verification recomputes the Sig_structure
// ["Signature1", protected, external_aad, payload] from the bytes of the
// message as received, so no re-encoding can change what is verified.
package cose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"math/big"

	"github.com/fxamacker/cbor/v2"
)

// COSE algorithm identifiers (RFC 9053).
const (
	AlgES256 int64 = -7
	AlgES384 int64 = -35
	AlgES512 int64 = -36
)

// TagSign1 is the CBOR tag of a COSE_Sign1 message.
const TagSign1 = 18

// MaxMessageSize bounds what ParseSign1 accepts.
const MaxMessageSize = 1 << 20

// Sign1 is a parsed COSE_Sign1 message.
type Sign1 struct {
	// Protected is the serialized protected header, exactly as received.
	Protected []byte
	// Alg is the algorithm the protected header names.
	Alg       int64
	Payload   []byte
	Signature []byte
}

// DecMode is the CBOR decoder for untrusted attestation data: bounded
// nesting and sizes, duplicate map keys refused, indefinite lengths refused.
var DecMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		MaxNestedLevels:   16,
		MaxArrayElements:  4096,
		MaxMapPairs:       4096,
		TagsMd:            cbor.TagsAllowed,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// encMode encodes deterministically (the Sig_structure, test messages).
var encMode = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

type rawSign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// ParseSign1 parses a COSE_Sign1 message, tagged (18) or not.
func ParseSign1(b []byte) (*Sign1, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("cose: %d bytes, more than the %d-byte limit", len(b), MaxMessageSize)
	}
	var content cbor.RawMessage = b
	var tag cbor.RawTag
	if len(b) > 0 && b[0]>>5 == 6 { // major type 6: a tag
		if err := DecMode.Unmarshal(b, &tag); err != nil {
			return nil, fmt.Errorf("cose: %w", err)
		}
		if tag.Number != TagSign1 {
			return nil, fmt.Errorf("cose: CBOR tag %d, want %d (COSE_Sign1)", tag.Number, TagSign1)
		}
		content = tag.Content
	}
	var r rawSign1
	if err := DecMode.Unmarshal(content, &r); err != nil {
		return nil, fmt.Errorf("cose: not a COSE_Sign1 array of 4: %w", err)
	}
	if r.Payload == nil {
		return nil, errors.New("cose: detached payload (nil) is not supported")
	}
	var hdr map[int64]cbor.RawMessage
	if err := DecMode.Unmarshal(r.Protected, &hdr); err != nil {
		return nil, fmt.Errorf("cose: protected header: %w", err)
	}
	algRaw, ok := hdr[1]
	if !ok {
		return nil, errors.New("cose: protected header names no algorithm (label 1)")
	}
	var alg int64
	if err := DecMode.Unmarshal(algRaw, &alg); err != nil {
		return nil, fmt.Errorf("cose: protected header algorithm: %w", err)
	}
	if crit, ok := hdr[2]; ok && len(crit) > 0 {
		return nil, errors.New("cose: critical header parameters (label 2) are not supported")
	}
	return &Sign1{Protected: r.Protected, Alg: alg, Payload: r.Payload, Signature: r.Signature}, nil
}

// params gives the curve and hash of an algorithm.
func params(alg int64) (elliptic.Curve, func() hash.Hash, string, error) {
	switch alg {
	case AlgES256:
		return elliptic.P256(), sha256.New, "ES256", nil
	case AlgES384:
		return elliptic.P384(), sha512.New384, "ES384", nil
	case AlgES512:
		return elliptic.P521(), sha512.New, "ES512", nil
	}
	return nil, nil, "", fmt.Errorf("cose: algorithm %d is not supported (want ES256, ES384 or ES512)", alg)
}

// AlgName names a COSE algorithm.
func AlgName(alg int64) string {
	if _, _, n, err := params(alg); err == nil {
		return n
	}
	return fmt.Sprintf("alg %d", alg)
}

// SigStructure is the byte string a COSE_Sign1 signature covers.
func SigStructure(protected, payload []byte) ([]byte, error) {
	return encMode.Marshal([]any{"Signature1", protected, []byte{}, payload})
}

// Verify checks the signature with pub, which must be a key of the curve
// the algorithm names.
func (s *Sign1) Verify(pub *ecdsa.PublicKey) error {
	curve, newHash, name, err := params(s.Alg)
	if err != nil {
		return err
	}
	if pub == nil || pub.Curve != curve {
		return fmt.Errorf("cose: %s needs a %s key", name, curve.Params().Name)
	}
	n := (curve.Params().BitSize + 7) / 8
	if len(s.Signature) != 2*n {
		return fmt.Errorf("cose: %s signature is %d bytes, want %d", name, len(s.Signature), 2*n)
	}
	tbs, err := SigStructure(s.Protected, s.Payload)
	if err != nil {
		return fmt.Errorf("cose: %w", err)
	}
	h := newHash()
	h.Write(tbs)
	r := new(big.Int).SetBytes(s.Signature[:n])
	sv := new(big.Int).SetBytes(s.Signature[n:])
	if !ecdsa.Verify(pub, h.Sum(nil), r, sv) {
		return fmt.Errorf("cose: %s signature does not verify", name)
	}
	return nil
}
