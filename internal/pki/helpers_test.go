package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testFed = "heart"
	year    = 365 * 24 * time.Hour
)

// caStart is when test CAs begin: far enough in the past to issue expired
// certificates inside the CA's validity.
var caStart = time.Now().Add(-3 * year)

// newTestCA creates a CA for federation in a temporary directory.
func newTestCA(t *testing.T, federation string) (*CA, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := InitCA(dir, federation, caStart, 10*year)
	if err != nil {
		t.Fatalf("InitCA: %v", err)
	}
	return ca, dir
}

// issueFiles issues id into a fresh directory and returns its Files.
func issueFiles(t *testing.T, ca *CA, req IssueRequest) Files {
	t.Helper()
	f, err := IssueToDir(ca, req, t.TempDir())
	if err != nil {
		t.Fatalf("IssueToDir(%s): %v", req.Identity, err)
	}
	return f
}

func ident(role Role, name string) Identity {
	return Identity{Federation: testFed, Role: role, Name: name}
}

// serverReq is a request for a loopback server certificate.
func serverReq(role Role, name string) IssueRequest {
	return IssueRequest{Identity: ident(role, name), Hosts: []string{"localhost", "127.0.0.1"}}
}

// rawClient builds a client config from PEM bytes, bypassing ClientTLS, to
// play a misbehaving client.
func rawClient(t *testing.T, certPEM, keyPEM []byte, roots *x509.CertPool) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS13}
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatalf("X509KeyPair: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func poolOf(cas ...*CA) *x509.CertPool {
	p := x509.NewCertPool()
	for _, ca := range cas {
		p.AddCert(ca.Cert)
	}
	return p
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantErr checks err against a wanted substring ("" means no error).
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
