package ledger_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/confed/confed/coordinator/ledger"
)

func TestManifestSignature(t *testing.T) {
	manifest := []byte("serialized manifest")
	pub := testKey.Public().(ed25519.PublicKey)
	sig := ledger.SignManifest(testKey, manifest)
	other := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	tests := []struct {
		name          string
		pub, msg, sig []byte
		want          string // "" means valid
	}{
		{"valid", pub, manifest, sig, ""},
		{"other manifest", pub, []byte("serialized manifesT"), sig, "does not verify"},
		{"other key", other.Public().(ed25519.PublicKey), manifest, sig, "does not verify"},
		{"no context", pub, manifest, ed25519.Sign(testKey, manifest), "does not verify"},
		{"short key", pub[:31], manifest, sig, "public key is 31 bytes, want 32"},
		{"nil key", nil, manifest, sig, "public key is 0 bytes"},
		{"short signature", pub, manifest, sig[:63], "signature is 63 bytes, want 64"},
		{"nil signature", pub, manifest, nil, "signature is 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ledger.VerifyManifest(tt.pub, tt.msg, tt.sig)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("VerifyManifest = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("VerifyManifest = %v, want error containing %q", err, tt.want)
			}
			if strings.Contains(tt.want, "does not verify") && !errors.Is(err, ledger.ErrBadSignature) {
				t.Errorf("error %v does not wrap ErrBadSignature", err)
			}
		})
	}
}

func TestSignManifestBadKey(t *testing.T) {
	if sig := ledger.SignManifest(ed25519.PrivateKey{1, 2, 3}, []byte("m")); sig != nil {
		t.Errorf("SignManifest with a 3-byte key = %x, want nil", sig)
	}
}
