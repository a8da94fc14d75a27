package maa

import "testing"

func FuzzParseToken(f *testing.F) {
	f.Add(sampleToken(f))
	f.Add([]byte("e30.e30.AA"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := ParseToken(b); err == nil {
			_, _ = Describe(b)
			_, _, _ = teeClaims(claimSet(tok.Claims))
		}
	})
}

func FuzzParseKeySet(f *testing.F) {
	f.Add(sampleKeys(f))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseKeySet(b) })
}
