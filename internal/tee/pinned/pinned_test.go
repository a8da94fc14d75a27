package pinned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// issue makes a certificate for cn signed by parent (self-signed if nil),
// valid for a year from t0.
func issue(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0),
		IsCA: ca, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestRoot(t *testing.T) {
	root, _ := issue(t, "root", nil, nil, true)
	good := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})
	sum := sha256.Sum256(root.Raw)
	fp := hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		name, pem, fp, wantErr string
	}{
		{"pinned", string(good), fp, ""},
		{"wrong fingerprint", string(good), strings.Repeat("0", 64), "test: embedded root has fingerprint " + fp + ", want 0000"},
		{"not PEM", "hello", fp, "test: embedded root is not PEM"},
		{"not a certificate", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: root.Raw})), fp, "test: embedded root is not PEM"},
		{"not DER", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")})), "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881", "test: embedded root: x509:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Root([]byte(tc.pem), tc.fp, "test", "root")
			if tc.wantErr == "" {
				if err != nil || !c.Equal(root) {
					t.Fatalf("Root = %v, %v; want the root", c, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("Root error %v, want prefix %q", err, tc.wantErr)
			}
		})
	}
}

func TestPool(t *testing.T) {
	a, _ := issue(t, "a", nil, nil, true)
	b, _ := issue(t, "b", nil, nil, true)
	fail := errors.New("no pinned root")
	for _, tc := range []struct {
		name    string
		roots   []*x509.Certificate
		pinned  func() (*x509.Certificate, error)
		want    *x509.Certificate
		wantErr error
	}{
		{"pinned when nil", nil, func() (*x509.Certificate, error) { return a, nil }, a, nil},
		{"given roots replace pinned", []*x509.Certificate{b}, func() (*x509.Certificate, error) { return a, nil }, b, nil},
		{"pinned error", nil, func() (*x509.Certificate, error) { return nil, fail }, nil, fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := Pool(tc.roots, tc.pinned)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Pool error %v, want %v", err, tc.wantErr)
			}
			if tc.want == nil {
				return
			}
			want := x509.NewCertPool()
			want.AddCert(tc.want)
			if !pool.Equal(want) {
				t.Fatalf("Pool holds the wrong roots")
			}
		})
	}
}

func TestVerifyChain(t *testing.T) {
	root, rootKey := issue(t, "root", nil, nil, true)
	inter, interKey := issue(t, "inter", root, rootKey, true)
	leaf, _ := issue(t, "leaf", inter, interKey, false)
	other, _ := issue(t, "other", nil, nil, true)
	pool := func(c *x509.Certificate) *x509.CertPool { p := x509.NewCertPool(); p.AddCert(c); return p }
	for _, tc := range []struct {
		name    string
		inter   []*x509.Certificate
		roots   *x509.CertPool
		now     time.Time
		wantErr string
	}{
		{"valid", []*x509.Certificate{inter}, pool(root), t0.Add(time.Hour), ""},
		{"missing intermediate", nil, pool(root), t0.Add(time.Hour), "certificate chain (as of 2026-01-01T01:00:00Z): x509: certificate signed by unknown authority"},
		{"other root", []*x509.Certificate{inter}, pool(other), t0.Add(time.Hour), "certificate chain (as of 2026-01-01T01:00:00Z): x509: certificate signed by unknown authority"},
		{"expired", []*x509.Certificate{inter}, pool(root), t0.AddDate(2, 0, 0), "certificate chain (as of 2028-01-01T00:00:00Z): x509: certificate has expired or is not yet valid"},
		{"a pinned intermediate anchors the chain", []*x509.Certificate{root}, pool(inter), t0.Add(time.Hour), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyChain(leaf, tc.inter, tc.roots, tc.now)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyChain: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("VerifyChain error %v, want prefix %q", err, tc.wantErr)
			}
		})
	}
}
