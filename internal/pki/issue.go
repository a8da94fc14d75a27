package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultValidity is the certificate lifetime Issue uses when given zero.
const DefaultValidity = 365 * 24 * time.Hour

// IssueRequest asks the CA for a certificate.
type IssueRequest struct {
	Identity Identity
	// Hosts are the DNS names or IP addresses a server certificate is
	// valid for; clients need none.
	Hosts []string
	// Validity is the certificate lifetime; zero means DefaultValidity.
	Validity time.Duration
	// Now is the start of validity; zero means the current time.
	Now time.Time
}

// Issue creates a fresh ECDSA P-256 key and a certificate for req.Identity,
// usable for both server and client authentication. The identity's
// federation must be the CA's, and the certificate must not outlive the CA.
func (ca *CA) Issue(req IssueRequest) (certPEM, keyPEM []byte, err error) {
	tmpl, err := ca.template(req)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generate key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: sign certificate for %s: %w", req.Identity, err)
	}
	keyPEM, err = encodeKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCertPEM(der), keyPEM, nil
}

// template validates req and builds the certificate template.
func (ca *CA) template(req IssueRequest) (*x509.Certificate, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("pki: issue: CA has no certificate or key")
	}
	id := req.Identity
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("pki: issue: %w", err)
	}
	if id.Federation != ca.Federation {
		return nil, fmt.Errorf("pki: issue: identity %s is not in the CA's federation %q", id, ca.Federation)
	}
	dns, ips, err := splitHosts(req.Hosts)
	if err != nil {
		return nil, fmt.Errorf("pki: issue: %w", err)
	}
	notBefore, notAfter, err := validityWindow(req.Now, req.Validity, DefaultValidity)
	if err != nil {
		return nil, err
	}
	if err := ca.checkWindow(notBefore, notAfter); err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: id.String(), Organization: []string{id.Federation}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{id.URI()},
		DNSNames:              dns,
		IPAddresses:           ips,
	}, nil
}

// checkWindow refuses certificates whose validity falls outside the CA's.
func (ca *CA) checkWindow(notBefore, notAfter time.Time) error {
	if notBefore.Before(ca.Cert.NotBefore) {
		return fmt.Errorf("pki: issue: certificate would start (%s) before the CA (%s)",
			notBefore.Format(time.RFC3339), ca.Cert.NotBefore.Format(time.RFC3339))
	}
	if notAfter.After(ca.Cert.NotAfter) {
		return fmt.Errorf("pki: issue: certificate would outlive the CA (%s > %s); shorten the validity",
			notAfter.Format(time.RFC3339), ca.Cert.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// splitHosts sorts hosts into DNS names and IP addresses, dropping duplicates.
func splitHosts(hosts []string) (dns []string, ips []net.IP, err error) {
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if err := validateDNSName(h); err != nil {
			return nil, nil, err
		}
		dns = append(dns, h)
	}
	return dns, ips, nil
}

// validateDNSName accepts host names made of LDH labels (no wildcards).
func validateDNSName(h string) error {
	if h == "" || len(h) > 253 {
		return fmt.Errorf("host %q: not a DNS name or IP address", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q: not a DNS name or IP address", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q: not a DNS name or IP address", h)
			}
		}
	}
	return nil
}

// IssueToDir issues a certificate for req and writes outDir/<name>.crt,
// outDir/<name>.key (mode 0600) and outDir/ca.crt. It refuses to overwrite
// any file, except that an existing ca.crt identical to the CA's certificate
// is left as it is (so several identities can share a directory).
func IssueToDir(ca *CA, req IssueRequest, outDir string) (Files, error) {
	if err := req.Identity.Validate(); err != nil {
		return Files{}, fmt.Errorf("pki: issue: %w", err)
	}
	if req.Identity.Name+".crt" == CACertFile {
		return Files{}, fmt.Errorf("pki: issue: name %q would clash with %s", req.Identity.Name, CACertFile)
	}
	f := Files{
		Cert: filepath.Join(outDir, req.Identity.Name+".crt"),
		Key:  filepath.Join(outDir, req.Identity.Name+".key"),
		CA:   filepath.Join(outDir, CACertFile),
	}
	if err := checkAbsent(f.Cert, f.Key); err != nil {
		return Files{}, err
	}
	if ca == nil || ca.Cert == nil {
		return Files{}, errors.New("pki: issue: CA has no certificate or key")
	}
	caPEM := encodeCertPEM(ca.Cert.Raw)
	writeCA, err := needCAFile(f.CA, ca.Cert)
	if err != nil {
		return Files{}, err
	}
	certPEM, keyPEM, err := ca.Issue(req)
	if err != nil {
		return Files{}, err
	}
	if err := writeFiles(f, certPEM, keyPEM, caPEM, writeCA); err != nil {
		return Files{}, err
	}
	return f, nil
}

// needCAFile reports whether path must be written: false if it already holds
// exactly the CA's certificate, an error if it holds anything else.
func needCAFile(path string, caCert *x509.Certificate) (bool, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	existing, err := readCertFile(path)
	if err != nil {
		return false, fmt.Errorf("pki: refusing to overwrite %s: %w", path, err)
	}
	if !bytes.Equal(existing.Raw, caCert.Raw) {
		return false, fmt.Errorf("pki: refusing to overwrite %s: it holds a different CA certificate", path)
	}
	return false, nil
}

// writeFiles writes key, certificate and (if writeCA) CA bundle, removing
// what it wrote if any write fails.
func writeFiles(f Files, certPEM, keyPEM, caPEM []byte, writeCA bool) error {
	if err := os.MkdirAll(filepath.Dir(f.Cert), 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := writeNewFile(f.Key, keyPEM, keyFileMode); err != nil {
		return err
	}
	if err := writeNewFile(f.Cert, certPEM, certFileMode); err != nil {
		removeAll(f.Key)
		return err
	}
	if !writeCA {
		return nil
	}
	if err := writeNewFile(f.CA, caPEM, certFileMode); err != nil {
		removeAll(f.Key, f.Cert)
		return err
	}
	return nil
}
