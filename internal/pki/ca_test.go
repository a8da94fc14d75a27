package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestInitCA(t *testing.T) {
	now := time.Now()
	dir := filepath.Join(t.TempDir(), "new", "ca")
	ca, err := InitCA(dir, testFed, now, 0)
	if err != nil {
		t.Fatalf("InitCA: %v", err)
	}
	if ca.Federation != testFed || !ca.Cert.IsCA || ca.Cert.Subject.Organization[0] != testFed {
		t.Errorf("CA = %+v, want a CA certificate of %q", ca.Cert.Subject, testFed)
	}
	if pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.Cert.PublicKey)
	}
	if got := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore); got != DefaultCAValidity+clockSkew {
		t.Errorf("validity = %s, want %s", got, DefaultCAValidity+clockSkew)
	}
	if ca.Cert.SerialNumber.Sign() <= 0 || ca.Cert.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", ca.Cert.SerialNumber)
	}
	st, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, CACertFile)); err != nil {
		t.Errorf("ca.crt: %v", err)
	}
}

func TestInitCARefusesOverwrite(t *testing.T) {
	_, dir := newTestCA(t, testFed)
	before := mustRead(t, filepath.Join(dir, CAKeyFile))
	_, err := InitCA(dir, testFed, time.Now(), 0)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second InitCA: %v, want fs.ErrExist", err)
	}
	if after := mustRead(t, filepath.Join(dir, CAKeyFile)); string(after) != string(before) {
		t.Error("ca.key changed")
	}

	// A stray ca.crt alone also blocks InitCA, and no key is left behind.
	dir2 := t.TempDir()
	mustWrite(t, filepath.Join(dir2, CACertFile), []byte("x"))
	if _, err := InitCA(dir2, testFed, time.Now(), 0); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("InitCA over ca.crt: %v, want fs.ErrExist", err)
	}
	if _, err := os.Stat(filepath.Join(dir2, CAKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ca.key was written: %v", err)
	}
}

func TestInitCABadInput(t *testing.T) {
	tests := []struct {
		name       string
		federation string
		validity   time.Duration
		want       string
	}{
		{"empty federation", "", 0, "federation: empty"},
		{"upper case", "Heart", 0, "invalid character"},
		{"negative validity", testFed, -time.Hour, "negative validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := InitCA(dir, tt.federation, time.Now(), tt.validity)
			wantErr(t, err, tt.want)
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files written on error: %v", entries)
			}
		})
	}
}

func TestLoadCARoundTrip(t *testing.T) {
	ca, dir := newTestCA(t, testFed)
	got, err := LoadCA(dir)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if !got.Cert.Equal(ca.Cert) || got.Federation != testFed {
		t.Errorf("LoadCA = %v/%q, want the CA written", got.Cert.Subject, got.Federation)
	}
	if !got.Key.Public().(*ecdsa.PublicKey).Equal(ca.Key.Public()) {
		t.Error("loaded key differs")
	}
	// The loaded CA can issue certificates that chain to the original.
	certPEM, _, err := got.Issue(IssueRequest{Identity: ident(RoleOperator, "alice")})
	if err != nil {
		t.Fatalf("Issue with loaded CA: %v", err)
	}
	certs, err := parseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: poolOf(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("issued certificate does not verify: %v", err)
	}
}

func TestLoadCAErrors(t *testing.T) {
	pkcs8 := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	other, otherDir := newTestCA(t, testFed)
	leafPEM, _, err := other.Issue(IssueRequest{Identity: ident(RoleOperator, "alice")})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		file string // file to replace (or remove when data is nil)
		data []byte
		want string // besides the file's path
	}{
		{"cert missing", CACertFile, nil, "no such file"},
		{"key missing", CAKeyFile, nil, "no such file"},
		{"cert not PEM", CACertFile, []byte("hello"), "no PEM data"},
		{"cert truncated", CACertFile, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n"), "no PEM data"},
		{"cert garbage DER", CACertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), "PEM block 1"},
		{"cert trailing junk", CACertFile, append(mustRead(t, filepath.Join(otherDir, CACertFile)), "junk"...), "after the last block"},
		{"cert is a key", CACertFile, pkcs8(p384), `is "PRIVATE KEY"`},
		{"cert not a CA", CACertFile, leafPEM, "not a CA certificate"},
		{"key not PEM", CAKeyFile, []byte("hello"), "no PEM data"},
		{"key garbage DER", CAKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "malformed private key"},
		{"key RSA", CAKeyFile, pkcs8(rsaKey), "*rsa.PrivateKey, want ECDSA P-256"},
		{"key RSA PKCS1", CAKeyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), `"RSA PRIVATE KEY"`},
		{"key Ed25519", CAKeyFile, pkcs8(edKey), "ed25519.PrivateKey"},
		{"key P-384", CAKeyFile, pkcs8(p384), "P-384, want P-256"},
		{"key of another CA", CAKeyFile, mustRead(t, filepath.Join(otherDir, CAKeyFile)), "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir := newTestCA(t, testFed)
			path := filepath.Join(dir, tt.file)
			if tt.data == nil {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				mustWrite(t, path, tt.data)
			}
			_, err := LoadCA(dir)
			wantErr(t, err, tt.want)
			wantErr(t, err, path)
		})
	}
}

func TestParseKeyPEMAcceptsSEC1(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	if err != nil || !got.Equal(key) {
		t.Fatalf("parseKeyPEM(SEC1) = %v", err)
	}
}
