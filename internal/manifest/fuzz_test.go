package manifest

import (
	"context"
	"crypto/ed25519"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// FuzzVerify decodes a SignedManifest from untrusted bytes (as a
// participant receives it with a model) and verifies it: no panic, and
// anything that verifies is for the federation asked for, signed by the
// key its evidence binds.
func FuzzVerify(f *testing.F) {
	const federation = "fuzz"
	v := simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true})
	iss, err := simulated.NewIssuer(tee.Options{AllowInsecureSimulated: true})
	if err != nil {
		f.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		f.Fatal(err)
	}
	ev, err := iss.Issue(context.Background(), SigningKeyReportData(federation, pub))
	if err != nil {
		f.Fatal(err)
	}
	s := &Signer{Key: priv, Evidence: ev}
	good, err := s.Sign(&confedv1.ModelManifest{Federation: federation, Round: 1, TeeKind: tee.KindSimulated, Insecure: true,
		ModelSha256: make([]byte, 32), ModelSize: 100})
	if err != nil {
		f.Fatal(err)
	}
	goodBytes, _ := proto.Marshal(good)
	f.Add(goodBytes)
	other, _ := s.Sign(&confedv1.ModelManifest{Federation: "other", Round: 2})
	otherBytes, _ := proto.Marshal(other)
	f.Add(otherBytes)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x03, 'a', 'b', 'c'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var sm confedv1.SignedManifest
		if proto.Unmarshal(b, &sm) != nil {
			return
		}
		got, err := Verify(context.Background(), &sm, v, federation)
		if err != nil {
			return
		}
		if got.Manifest.GetFederation() != federation {
			t.Fatalf("verified a manifest for %q", got.Manifest.GetFederation())
		}
		if VerifySignature(sm.GetSignerPublicKey(), sm.GetManifest(), sm.GetSignature()) != nil {
			t.Fatal("verified a manifest whose signature does not check")
		}
	})
}
