package cose

import (
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Sign produces a COSE_Sign1 message over payload with key, whose curve
// chooses the algorithm (P-256: ES256, P-384: ES384, P-521: ES512). Tagged
// adds CBOR tag 18. It exists for test fixtures (fake Nitro documents, CCA
// tokens); verifiers never sign.
func Sign(key *ecdsa.PrivateKey, payload []byte, tagged bool) ([]byte, error) {
	var alg int64
	switch key.Curve.Params().BitSize {
	case 256:
		alg = AlgES256
	case 384:
		alg = AlgES384
	case 521:
		alg = AlgES512
	default:
		return nil, fmt.Errorf("cose: unsupported curve %s", key.Curve.Params().Name)
	}
	protected, err := encMode.Marshal(map[int64]int64{1: alg})
	if err != nil {
		return nil, err
	}
	tbs, err := SigStructure(protected, payload)
	if err != nil {
		return nil, err
	}
	curve, newHash, _, _ := params(alg)
	h := newHash()
	h.Write(tbs)
	r, s, err := ecdsa.Sign(rand.Reader, key, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	n := (curve.Params().BitSize + 7) / 8
	sig := make([]byte, 2*n)
	r.FillBytes(sig[:n])
	s.FillBytes(sig[n:])
	msg := []any{protected, map[int64]any{}, payload, sig}
	if tagged {
		return encMode.Marshal(cbor.Tag{Number: TagSign1, Content: msg})
	}
	return encMode.Marshal(msg)
}

// Marshal encodes v deterministically (CBOR core deterministic encoding),
// for test fixtures.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }
