package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

const (
	pemCertificate = "CERTIFICATE"
	pemPKCS8Key    = "PRIVATE KEY"
	pemSEC1Key     = "EC PRIVATE KEY"

	certFileMode = 0o644
	keyFileMode  = 0o600
)

// readCertsFile reads a PEM file holding one or more certificates.
func readCertsFile(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	certs, err := parseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return certs, nil
}

// readCertFile reads a PEM file holding exactly one certificate.
func readCertFile(path string) (*x509.Certificate, error) {
	certs, err := readCertsFile(path)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("pki: %s: %d certificates, want 1", path, len(certs))
	}
	return certs[0], nil
}

func parseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != pemCertificate {
			return nil, fmt.Errorf("PEM block %d is %q, want %q", i+1, b.Type, pemCertificate)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// readKeyFile reads a PEM file holding one ECDSA P-256 private key.
func readKeyFile(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	key, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return key, nil
}

// parseKeyPEM parses a PKCS#8 or SEC 1 ECDSA P-256 key. Its errors never
// include key material.
func parseKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, err
	}
	if len(blocks) != 1 {
		return nil, fmt.Errorf("%d PEM blocks, want 1 private key", len(blocks))
	}
	var parsed any
	switch b := blocks[0]; b.Type {
	case pemPKCS8Key:
		parsed, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case pemSEC1Key:
		parsed, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want %q (an ECDSA P-256 key)", b.Type, pemPKCS8Key)
	}
	if err != nil {
		return nil, errors.New("malformed private key")
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want ECDSA P-256", parsed)
	}
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("key is ECDSA on %s, want P-256", key.Curve.Params().Name)
	}
	return key, nil
}

// decodePEM returns every PEM block of data; data must hold at least one
// block and nothing after the last block but white space.
func decodePEM(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	rest := data
	for {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
		rest = r
	}
	if len(blocks) == 0 {
		return nil, errors.New("no PEM data")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("malformed PEM: data after the last block")
	}
	return blocks, nil
}

func encodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der})
}

func encodeKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPKCS8Key, Bytes: der}), nil
}

// checkAbsent fails if any of paths exists (or cannot be checked).
func checkAbsent(paths ...string) error {
	for _, p := range paths {
		_, err := os.Lstat(p)
		if err == nil {
			return fmt.Errorf("pki: refusing to overwrite %s: %w", p, fs.ErrExist)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pki: %w", err)
		}
	}
	return nil
}

// writeNewFile creates path with perm and writes data; it never overwrites
// an existing file and removes what it created if writing fails.
func writeNewFile(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pki: refusing to overwrite %s: %w", path, err)
	}
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("pki: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// removeAll removes paths, ignoring errors; used to undo partial writes.
func removeAll(paths ...string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}
