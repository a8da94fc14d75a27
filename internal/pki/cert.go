package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
)

// Fingerprint returns the SHA-256 of c's DER encoding in lowercase hex (""
// for a nil certificate).
func Fingerprint(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// ReadCertificate reads a PEM file holding exactly one certificate; errors
// name the file.
func ReadCertificate(path string) (*x509.Certificate, error) {
	return readCertFile(path)
}
