package pki

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestIssueCertificate(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	now := time.Now()
	req := IssueRequest{
		Identity: ident(RoleAggregator, "agg-1"),
		Hosts:    []string{"localhost", "127.0.0.1", "::1", "localhost", "agg.example.org"},
		Now:      now,
	}
	certPEM, keyPEM, err := ca.Issue(req)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	certs, err := parseCertsPEM(certPEM)
	if err != nil || len(certs) != 1 {
		t.Fatalf("certificate PEM: %d certs, %v", len(certs), err)
	}
	c := certs[0]
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		t.Fatalf("key PEM: %v", err)
	}
	if !key.PublicKey.Equal(c.PublicKey) {
		t.Error("key does not match certificate")
	}
	if id, err := IdentityFromCert(c); err != nil || id != req.Identity {
		t.Errorf("IdentityFromCert = %v, %v", id, err)
	}
	if len(c.URIs) != 1 {
		t.Errorf("URIs = %v, want exactly one", c.URIs)
	}
	if want := []string{"localhost", "agg.example.org"}; !slices.Equal(c.DNSNames, want) {
		t.Errorf("DNSNames = %v, want %v", c.DNSNames, want)
	}
	if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IPAddresses = %v", c.IPAddresses)
	}
	wantEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	if !slices.Equal(c.ExtKeyUsage, wantEKU) || c.IsCA {
		t.Errorf("EKU = %v, IsCA = %v", c.ExtKeyUsage, c.IsCA)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", c.SerialNumber)
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != DefaultValidity+clockSkew {
		t.Errorf("validity = %s, want %s", got, DefaultValidity+clockSkew)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: poolOf(ca), DNSName: "agg.example.org"}); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestIssueSerialsAreRandom(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	seen := map[string]bool{}
	for i := 0; i < 8; i++ {
		certPEM, _, err := ca.Issue(IssueRequest{Identity: ident(RoleOperator, "alice")})
		if err != nil {
			t.Fatal(err)
		}
		certs, _ := parseCertsPEM(certPEM)
		s := certs[0].SerialNumber.String()
		if seen[s] {
			t.Fatalf("serial %s issued twice", s)
		}
		seen[s] = true
	}
}

func TestIssueRefuses(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	now := time.Now()
	tests := []struct {
		name string
		req  IssueRequest
		want string
	}{
		{"other federation", IssueRequest{Identity: Identity{Federation: "lung", Role: RoleParticipant, Name: "h"}}, `not in the CA's federation "heart"`},
		{"bad name", IssueRequest{Identity: ident(RoleParticipant, "H_1")}, "invalid character"},
		{"unknown role", IssueRequest{Identity: ident("admin", "h")}, "unknown role"},
		{"negative validity", IssueRequest{Identity: ident(RoleParticipant, "h"), Validity: -time.Hour}, "negative validity"},
		{"outlives CA", IssueRequest{Identity: ident(RoleParticipant, "h"), Validity: 20 * year}, "outlive the CA"},
		{"before CA", IssueRequest{Identity: ident(RoleParticipant, "h"), Now: caStart.Add(-time.Hour)}, "before the CA"},
		{"bad host", IssueRequest{Identity: ident(RoleCoordinator, "c"), Hosts: []string{"bad host"}}, `host "bad host"`},
		{"wildcard host", IssueRequest{Identity: ident(RoleCoordinator, "c"), Hosts: []string{"*.example.org"}}, "not a DNS name"},
		{"empty host", IssueRequest{Identity: ident(RoleCoordinator, "c"), Hosts: []string{""}}, "not a DNS name"},
		{"url host", IssueRequest{Identity: ident(RoleCoordinator, "c"), Hosts: []string{"https://x"}}, "not a DNS name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Now.IsZero() {
				tt.req.Now = now
			}
			_, _, err := ca.Issue(tt.req)
			wantErr(t, err, tt.want)
		})
	}
	var nilCA *CA
	if _, _, err := nilCA.Issue(IssueRequest{Identity: ident(RoleOperator, "a")}); err == nil {
		t.Error("nil CA issued a certificate")
	}
}

func TestIssueToDir(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	out := filepath.Join(t.TempDir(), "out")
	f, err := IssueToDir(ca, IssueRequest{Identity: ident(RoleParticipant, "hospital-a")}, out)
	if err != nil {
		t.Fatalf("IssueToDir: %v", err)
	}
	want := Files{
		Cert: filepath.Join(out, "hospital-a.crt"),
		Key:  filepath.Join(out, "hospital-a.key"),
		CA:   filepath.Join(out, "ca.crt"),
	}
	if f != want {
		t.Errorf("Files = %+v, want %+v", f, want)
	}
	if st, err := os.Stat(f.Key); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key mode: %v, %v", st.Mode().Perm(), err)
	}
	if id, err := LocalIdentity(f); err != nil || id != ident(RoleParticipant, "hospital-a") {
		t.Errorf("LocalIdentity = %v, %v", id, err)
	}

	// A second identity may share the directory and its ca.crt.
	if _, err := IssueToDir(ca, IssueRequest{Identity: ident(RoleParticipant, "hospital-b")}, out); err != nil {
		t.Errorf("second identity in the same directory: %v", err)
	}
}

func TestIssueToDirRefuses(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	other, _ := newTestCA(t, testFed)
	tests := []struct {
		name    string
		prepare func(t *testing.T, out string)
		req     IssueRequest
		want    string
		isExist bool
	}{
		{"existing cert", func(t *testing.T, out string) {
			mustWrite(t, filepath.Join(out, "h.crt"), []byte("old"))
		}, IssueRequest{Identity: ident(RoleParticipant, "h")}, "refusing to overwrite", true},
		{"existing key", func(t *testing.T, out string) {
			mustWrite(t, filepath.Join(out, "h.key"), []byte("old"))
		}, IssueRequest{Identity: ident(RoleParticipant, "h")}, "refusing to overwrite", true},
		{"ca.crt of another CA", func(t *testing.T, out string) {
			mustWrite(t, filepath.Join(out, CACertFile), encodeCertPEM(other.Cert.Raw))
		}, IssueRequest{Identity: ident(RoleParticipant, "h")}, "different CA certificate", false},
		{"ca.crt garbage", func(t *testing.T, out string) {
			mustWrite(t, filepath.Join(out, CACertFile), []byte("old"))
		}, IssueRequest{Identity: ident(RoleParticipant, "h")}, "refusing to overwrite", false},
		{"name ca", func(*testing.T, string) {}, IssueRequest{Identity: ident(RoleParticipant, "ca")}, "clash with ca.crt", false},
		{"bad identity", func(*testing.T, string) {}, IssueRequest{Identity: ident(RoleParticipant, "H")}, "invalid character", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			tt.prepare(t, out)
			before, _ := os.ReadDir(out)
			_, err := IssueToDir(ca, tt.req, out)
			wantErr(t, err, tt.want)
			if tt.isExist && !errors.Is(err, fs.ErrExist) {
				t.Errorf("error %v is not fs.ErrExist", err)
			}
			after, _ := os.ReadDir(out)
			if len(after) != len(before) {
				t.Errorf("directory changed on error: %d entries before, %d after", len(before), len(after))
			}
			for _, e := range before {
				if e.Name() == "h.crt" || e.Name() == "h.key" {
					if got := mustRead(t, filepath.Join(out, e.Name())); string(got) != "old" {
						t.Errorf("%s was overwritten", e.Name())
					}
				}
			}
		})
	}
}
