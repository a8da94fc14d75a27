package cca

import (
	"crypto/ecdsa"
	"testing"
)

func FuzzParseToken(f *testing.F) {
	for _, s := range samples() {
		f.Add(readHex(f, s.token))
	}
	k, _ := LoadKey(samples()[0].key)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := parseToken(b); err == nil {
			_, _ = Describe(b)
			_, _ = VerifyToken(b, []*ecdsa.PublicKey{k})
		}
	})
}
