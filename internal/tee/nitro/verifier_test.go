package nitro

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/nitro/nitrotest"
	"github.com/confed/confed/internal/yamlcfg"
)

func testVerifier(t *testing.T, ca *nitrotest.CA, p Policy, now time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(p, Options{Roots: []*x509.Certificate{ca.Root}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hexPCR(b byte) string { return hex.EncodeToString(nitrotest.PCR(b)) }

func TestVerifierBindsReportData(t *testing.T) {
	now := time.Now()
	ca, err := nitrotest.NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	rd := tee.ReportData("test", []byte("connection A"))
	other := tee.ReportData("test", []byte("connection B"))
	policy := Policy{PCR0: []string{hexPCR(0xa0)}, PCR2: []string{hexPCR(0xa2)}}
	good, err := ca.Sign(nitrotest.Doc{Nonce: rd[:], UserData: other[:], Time: now})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		policy  Policy
		doc     nitrotest.Doc
		rd      [64]byte
		wantErr string
	}{
		{"nonce binds", policy, nitrotest.Doc{Nonce: rd[:]}, rd, ""},
		{"other connection", policy, nitrotest.Doc{Nonce: rd[:]}, other, "not bound to this connection"},
		{"no nonce", policy, nitrotest.Doc{}, rd, "not bound"},
		{"user_data binding", Policy{PCR0: policy.PCR0, Binding: "user_data"}, nitrotest.Doc{UserData: rd[:]}, rd, ""},
		{"user_data binding ignores nonce", Policy{PCR0: policy.PCR0, Binding: "user_data"}, nitrotest.Doc{Nonce: rd[:]}, rd, "user_data"},
		{"public_key binding", Policy{PCR0: policy.PCR0, Binding: "public_key"}, nitrotest.Doc{PublicKey: rd[:]}, rd, ""},
		{"pcr0 not allowed", Policy{PCR0: []string{hexPCR(0xb0)}}, nitrotest.Doc{Nonce: rd[:]}, rd, "PCR0"},
		{"pcr2 not allowed", Policy{PCR0: policy.PCR0, PCR2: []string{hexPCR(0xb2)}}, nitrotest.Doc{Nonce: rd[:]}, rd, "PCR2"},
		{"pcr8 required but absent", Policy{PCR0: policy.PCR0, PCR8: []string{hexPCR(0xa8)}}, nitrotest.Doc{Nonce: rd[:]}, rd, "no PCR8"},
		{"debug enclave", Policy{PCR0: policy.PCR0}, nitrotest.Doc{Nonce: rd[:], PCRs: map[uint][]byte{0: make([]byte, 48), 1: nitrotest.PCR(1)}}, rd, "debug mode"},
		{"too old", Policy{PCR0: policy.PCR0, MaxAge: yamlcfg.Duration(time.Minute)}, nitrotest.Doc{Nonce: rd[:], Time: now.Add(-2 * time.Minute)}, rd, "max_age"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.doc.Time.IsZero() {
				c.doc.Time = now
			}
			raw, err := ca.Sign(c.doc)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := testVerifier(t, ca, c.policy, now).Verify(context.Background(), tee.Evidence{Kind: tee.KindNitro, Raw: raw}, c.rd)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if claims.Kind != tee.KindNitro || hex.EncodeToString(claims.Measurement) != hexPCR(0xa0) || claims.ReportData != rd {
					t.Fatalf("claims %+v", claims)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, c.wantErr)
			}
		})
	}
	// The real AWS root does not accept the test CA's documents.
	v, err := NewVerifier(policy, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindNitro, Raw: good}, rd); err == nil {
		t.Fatal("test CA document accepted under the AWS root")
	}
	if _, err := testVerifier(t, ca, policy, now).Verify(context.Background(), tee.Evidence{Kind: tee.KindSEVSNP, Raw: good}, rd); err == nil {
		t.Fatal("wrong evidence kind accepted")
	}
}

// The real sample passes the whole verifier as of its time except for the
// binding, which its filler nonce cannot satisfy.
func TestRealSampleThroughVerifier(t *testing.T) {
	d, err := ParseDocument(sampleDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Policy{PCR0: []string{hex.EncodeToString(d.PCRs[0])}}, Options{Now: func() time.Time { return sampleTime }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), tee.Evidence{Kind: tee.KindNitro, Raw: sampleDoc(t)}, tee.ReportData("x"))
	if err == nil || !strings.Contains(err.Error(), "not bound to this connection") {
		t.Fatalf("err = %v, want the binding check to fail", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name    string
		p       Policy
		wantErr string
	}{
		{"ok", Policy{PCR0: []string{hexPCR(1)}}, ""},
		{"no pcr0", Policy{}, "pcr0: at least one"},
		{"short pcr", Policy{PCR0: []string{"abcd"}}, "pcr0[0]: want 96 hex"},
		{"bad pcr1", Policy{PCR0: []string{hexPCR(1)}, PCR1: []string{"zz"}}, "pcr1[0]"},
		{"zero pcr0", Policy{PCR0: []string{hexPCR(0)}}, "debug-mode"},
		{"binding", Policy{PCR0: []string{hexPCR(1)}, Binding: "cookie"}, "binding"},
		{"max_age", Policy{PCR0: []string{hexPCR(1)}, MaxAge: -1}, "max_age"},
	}
	for _, c := range cases {
		err := c.p.Validate()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
		}
	}
}

func TestIssuerWithoutDevice(t *testing.T) {
	if _, err := os.Stat(DevicePath); err == nil {
		t.Skip("this machine has /dev/nsm")
	}
	_, err := NewIssuer()
	if err == nil || err.Error() != "nitro: /dev/nsm not present: this machine is not a Nitro Enclave" {
		t.Fatalf("err = %v", err)
	}
}

func TestNSMMessages(t *testing.T) {
	req, err := encodeRequest([]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	// {"Attestation": {"nonce": h'010203', "public_key": null, "user_data": null}}
	if !strings.Contains(string(req), "Attestation") || !strings.Contains(string(req), "nonce") {
		t.Fatalf("request %x", req)
	}
	ok := []byte("\xa1\x6bAttestation\xa1\x68document\x43\x84\x40\xa0")
	if doc, err := decodeResponse(ok); err != nil || string(doc) != "\x84\x40\xa0" {
		t.Fatalf("doc %x, err %v", doc, err)
	}
	if _, err := decodeResponse([]byte("\xa1\x65Error\x6fInvalidArgument")); err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Fatalf("error response: %v", err)
	}
}
