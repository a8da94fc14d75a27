package nitro

import (
	"crypto/x509"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func awsPool(t *testing.T) *x509.CertPool {
	t.Helper()
	root, err := AWSRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AddCert(root)
	return p
}

// The real sample verifies (chain to the embedded AWS root, ES384
// signature) as of its own timestamp: its certificates have expired since.
func TestRealSampleVerifiesAsOfItsTimestamp(t *testing.T) {
	d, err := VerifyDocument(sampleDoc(t), awsPool(t), sampleTime)
	if err != nil {
		t.Fatalf("real sample: %v", err)
	}
	if d.ModuleID != "i-0a22e5c5f24d22174-enc0191cceb4289903f" {
		t.Errorf("module_id %q", d.ModuleID)
	}
	if !d.Timestamp.Equal(sampleTime) {
		t.Errorf("timestamp %s, want %s", d.Timestamp, sampleTime)
	}
	if got := hex.EncodeToString(d.PCRs[0]); !strings.HasPrefix(got, "e72a46ca80a2") {
		t.Errorf("PCR0 %s", got)
	}
	if len(d.Nonce) != 1024 || len(d.UserData) != 1024 || len(d.PublicKey) != 1024 {
		t.Errorf("nonce/user_data/public_key lengths %d/%d/%d, want 1024", len(d.Nonce), len(d.UserData), len(d.PublicKey))
	}
}

func TestRealSampleRefusedToday(t *testing.T) {
	_, err := VerifyDocument(sampleDoc(t), awsPool(t), time.Now())
	if err == nil || !strings.Contains(err.Error(), "certificate chain") {
		t.Fatalf("expired sample verified today: err = %v", err)
	}
}

func TestRealSampleRefusedUnderOtherRoot(t *testing.T) {
	_, err := VerifyDocument(sampleDoc(t), x509.NewCertPool(), sampleTime)
	if err == nil || !strings.Contains(err.Error(), "certificate chain") {
		t.Fatalf("sample verified without the AWS root: err = %v", err)
	}
}

// A one-byte change anywhere it lands must make the real sample fail: in
// the protected header, the payload's fields, the certificates or the
// signature. A table of chosen places, then every 509th byte.
func TestRealSampleTamperFails(t *testing.T) {
	raw := sampleDoc(t)
	find := func(s string) int {
		i := strings.Index(string(raw), s)
		if i < 0 {
			t.Fatalf("%q not in sample", s)
		}
		return i
	}
	cases := []struct {
		name string
		at   int
	}{
		{"protected header alg", 3},
		{"module_id", find("i-0a22e5c5") + 2},
		{"timestamp", find("timestamp") + 12},
		{"pcr0 value", find("pcrs") + 8},
		{"certificate body", find("certificate") + 200},
		{"cabundle root", find("cabundle") + 300},
		{"nonce", find("nonce") + 10},
		{"user_data", find("user_data") + 20},
		{"signature first byte", len(raw) - 96},
		{"signature last byte", len(raw) - 1},
	}
	for i := 0; i < len(raw); i += 509 {
		cases = append(cases, struct {
			name string
			at   int
		}{"stride", i})
	}
	for _, c := range cases {
		b := append([]byte(nil), raw...)
		b[c.at] ^= 0x01
		if _, err := VerifyDocument(b, awsPool(t), sampleTime); err == nil {
			t.Errorf("%s (byte %d flipped): still verifies", c.name, c.at)
		}
	}
}

func TestEmbeddedRootFingerprint(t *testing.T) {
	root, err := AWSRoot()
	if err != nil {
		t.Fatal(err)
	}
	if root.Subject.CommonName != "aws.nitro-enclaves" || !root.IsCA {
		t.Fatalf("root %q CA=%v", root.Subject.CommonName, root.IsCA)
	}
	d, err := ParseDocument(sampleDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	if !d.CABundle[0].Equal(root) {
		t.Fatal("the sample's cabundle[0] is not the embedded AWS root")
	}
}
