package manifest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func newSigner(t *testing.T, federation string) *Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := simulated.NewIssuerWithMeasurement(tee.Options{AllowInsecureSimulated: true}, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := iss.Issue(context.Background(), SigningKeyReportData(federation, priv.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{Key: priv, Evidence: ev}
}

func TestVerify(t *testing.T) {
	s := newSigner(t, "fed")
	other := newSigner(t, "fed")
	v := simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true})
	base := &confedv1.ModelManifest{Federation: "fed", Round: 3, ModelSha256: []byte{1, 2}, TeeKind: tee.KindSimulated, Insecure: true}
	sign := func(m *confedv1.ModelManifest) *confedv1.SignedManifest {
		sm, err := s.Sign(m)
		if err != nil {
			t.Fatal(err)
		}
		return sm
	}
	tests := []struct {
		name    string
		signed  func() *confedv1.SignedManifest
		fed     string
		wantErr string
	}{
		{"valid", func() *confedv1.SignedManifest { return sign(base) }, "fed", ""},
		{"flipped manifest byte", func() *confedv1.SignedManifest {
			sm := sign(base)
			sm.Manifest[len(sm.Manifest)-1] ^= 1
			return sm
		}, "fed", "signature does not verify"},
		{"key swapped for another attested key", func() *confedv1.SignedManifest {
			sm := sign(base)
			sm.SignerPublicKey = other.Key.Public().(ed25519.PublicKey)
			sm.Evidence = &confedv1.Evidence{Kind: other.Evidence.Kind, Raw: other.Evidence.Raw}
			return sm
		}, "fed", "signature does not verify"},
		{"evidence of another key", func() *confedv1.SignedManifest {
			sm := sign(base)
			sm.Evidence = &confedv1.Evidence{Kind: other.Evidence.Kind, Raw: other.Evidence.Raw}
			return sm
		}, "fed", "does not bind"},
		{"other federation", func() *confedv1.SignedManifest { return sign(base) }, "other", "does not bind"},
		{"claims secure TEE", func() *confedv1.SignedManifest {
			return sign(&confedv1.ModelManifest{Federation: "fed", TeeKind: tee.KindSEVSNP})
		}, "fed", "evidence is"},
		{"no evidence", func() *confedv1.SignedManifest {
			sm := sign(base)
			sm.Evidence = nil
			return sm
		}, "fed", "no evidence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(context.Background(), tt.signed(), v, tt.fed)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.Manifest.GetRound() != 3 || !got.Claims.Insecure {
					t.Fatalf("got %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
