package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// File names inside a CA directory (and the CA bundle of an issued directory).
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// DefaultCAValidity is the CA lifetime InitCA uses when given zero.
const DefaultCAValidity = 10 * 365 * 24 * time.Hour

// clockSkew backdates NotBefore so that peers with slightly slow clocks
// accept fresh certificates.
const clockSkew = 5 * time.Minute

// CA is a federation's certificate authority.
type CA struct {
	Cert       *x509.Certificate
	Key        crypto.Signer
	Federation string
}

// InitCA creates a new CA for federation, valid from now for validity (zero
// means DefaultCAValidity; a zero now means the current time), and writes
// dir/ca.crt and dir/ca.key (mode 0600). It creates dir if needed and refuses
// to overwrite existing files.
func InitCA(dir, federation string, now time.Time, validity time.Duration) (*CA, error) {
	if err := ValidateName(federation); err != nil {
		return nil, fmt.Errorf("pki: federation: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if err := checkAbsent(certPath, keyPath); err != nil {
		return nil, err
	}
	ca, err := newCA(federation, now, validity)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKeyPEM(ca.Key.(*ecdsa.PrivateKey))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if err := writeNewFile(keyPath, keyPEM, keyFileMode); err != nil {
		return nil, err
	}
	if err := writeNewFile(certPath, encodeCertPEM(ca.Cert.Raw), certFileMode); err != nil {
		removeAll(keyPath)
		return nil, err
	}
	return ca, nil
}

// newCA generates the CA key and self-signed certificate in memory.
func newCA(federation string, now time.Time, validity time.Duration) (*CA, error) {
	notBefore, notAfter, err := validityWindow(now, validity, DefaultCAValidity)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "confed CA " + federation,
			Organization: []string{federation},
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, Federation: federation}, nil
}

// LoadCA reads dir/ca.crt and dir/ca.key and checks that they belong
// together. Errors name the offending file.
func LoadCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	cert, err := readCertFile(certPath)
	if err != nil {
		return nil, err
	}
	federation, err := federationOfCA(cert)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", certPath, err)
	}
	key, err := readKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("pki: %s does not match the certificate in %s", keyPath, certPath)
	}
	return &CA{Cert: cert, Key: key, Federation: federation}, nil
}

// federationOfCA returns the federation a confed CA certificate names in its
// subject organization.
func federationOfCA(c *x509.Certificate) (string, error) {
	if !c.IsCA || !c.BasicConstraintsValid {
		return "", errors.New("not a CA certificate")
	}
	if len(c.Subject.Organization) != 1 {
		return "", errors.New("CA certificate does not name exactly one federation (subject O)")
	}
	fed := c.Subject.Organization[0]
	if err := ValidateName(fed); err != nil {
		return "", fmt.Errorf("CA federation: %w", err)
	}
	return fed, nil
}

// validityWindow returns [now-clockSkew, now+validity]. A zero now means the
// current time; a zero validity means def.
func validityWindow(now time.Time, validity, def time.Duration) (time.Time, time.Time, error) {
	if validity < 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("pki: negative validity %s", validity)
	}
	if validity == 0 {
		validity = def
	}
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	return now.Add(-clockSkew), now.Add(validity), nil
}

// randomSerial returns a random, positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	buf := make([]byte, 16)
	for {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("pki: serial: %w", err)
		}
		if n := new(big.Int).SetBytes(buf); n.Sign() > 0 {
			return n, nil
		}
	}
}
