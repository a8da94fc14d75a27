// Package pinned holds the certificate checks that the TEE verifiers share:
// loading an embedded, fingerprint-pinned root certificate, building the
// pool of trusted roots (the pinned one unless a test replaces it), and
// verifying a certificate chain up to those roots at a given time.
package pinned

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"
)

// Root parses pemBytes, an embedded root certificate, after checking that
// the SHA-256 of its DER is wantSHA256 (lower-case hex). Errors begin with
// prefix and name the certificate as name ("nitro", "AWS root").
func Root(pemBytes []byte, wantSHA256, prefix, name string) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: embedded %s is not PEM", prefix, name)
	}
	sum := sha256.Sum256(block.Bytes)
	if got := hex.EncodeToString(sum[:]); got != wantSHA256 {
		return nil, fmt.Errorf("%s: embedded %s has fingerprint %s, want %s", prefix, name, got, wantSHA256)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: embedded %s: %w", prefix, name, err)
	}
	return c, nil
}

// Pool returns a pool of roots, or, when roots is nil, of the one root
// that pinned returns.
func Pool(roots []*x509.Certificate, pinned func() (*x509.Certificate, error)) (*x509.CertPool, error) {
	if roots == nil {
		r, err := pinned()
		if err != nil {
			return nil, err
		}
		roots = []*x509.Certificate{r}
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	return pool, nil
}

// VerifyChain checks that leaf chains up to one of roots through
// intermediates, with every certificate valid at now. Any extended key
// usage is accepted: attestation certificates do not carry a TLS one.
func VerifyChain(leaf *x509.Certificate, intermediates []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("certificate chain (as of %s): %w", now.UTC().Format(time.RFC3339), err)
	}
	return nil
}
