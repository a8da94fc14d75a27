// Package nitrotest builds genuinely signed AWS Nitro attestation documents
// under a test root (root → intermediate → signing certificate, ECDSA
// P-384), for tests of the nitro verifier and of code that uses it.
package nitrotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"

	"github.com/confed/confed/internal/tee/cose"
)

// CA is a fake AWS: a root and an intermediate that issue signing
// certificates.
type CA struct {
	Root     *x509.Certificate
	rootKey  *ecdsa.PrivateKey
	Inter    *x509.Certificate
	interKey *ecdsa.PrivateKey
}

// NewCA makes a CA valid from now-1h to now+24h.
func NewCA(now time.Time) (*CA, error) {
	ca := &CA{}
	var err error
	if ca.Root, ca.rootKey, err = cert("nitrotest root", now, nil, nil, true); err != nil {
		return nil, err
	}
	if ca.Inter, ca.interKey, err = cert("nitrotest intermediate", now, ca.Root, ca.rootKey, true); err != nil {
		return nil, err
	}
	return ca, nil
}

func cert(cn string, now time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: isCA,
	}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

// Doc is what a fake document says.
type Doc struct {
	PCRs      map[uint][]byte
	Nonce     []byte
	UserData  []byte
	PublicKey []byte
	Time      time.Time
}

// PCR returns a 48-byte PCR value filled with b.
func PCR(b byte) []byte {
	p := make([]byte, 48)
	for i := range p {
		p[i] = b
	}
	return p
}

// Sign issues a signing certificate and returns the signed document.
func (ca *CA) Sign(d Doc) ([]byte, error) {
	leaf, key, err := cert("i-0123456789abcdef0-enc0123456789abcdef.us-east-1.aws", d.Time, ca.Inter, ca.interKey, false)
	if err != nil {
		return nil, err
	}
	pcrs := d.PCRs
	if pcrs == nil {
		pcrs = map[uint][]byte{0: PCR(0xa0), 1: PCR(0xa1), 2: PCR(0xa2)}
	}
	payload, err := cose.Marshal(map[string]any{
		"module_id":   "i-0123456789abcdef0-enc0123456789abcdef",
		"digest":      "SHA384",
		"timestamp":   uint64(d.Time.UnixMilli()),
		"pcrs":        pcrs,
		"certificate": leaf.Raw,
		"cabundle":    [][]byte{ca.Root.Raw, ca.Inter.Raw},
		"public_key":  nilOr(d.PublicKey),
		"user_data":   nilOr(d.UserData),
		"nonce":       nilOr(d.Nonce),
	})
	if err != nil {
		return nil, err
	}
	return cose.Sign(key, payload, false)
}

func nilOr(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}
