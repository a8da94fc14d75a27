package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"
)

// material is a loaded Files: our certificate and key, the CA pool and the
// federation the CA serves.
type material struct {
	cert       tls.Certificate
	identity   Identity
	pool       *x509.CertPool
	federation string
}

// load reads and cross-checks f: the key matches the certificate, the
// certificate carries an identity of the CA's federation and verifies
// against the CA now.
func load(f Files) (*material, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	pool, federation, err := loadCAPool(f.CA)
	if err != nil {
		return nil, err
	}
	chain, err := readCertsFile(f.Cert)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	key, err := readKeyFile(f.Key)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("pki: %s does not match the certificate in %s", f.Key, f.Cert)
	}
	id, err := IdentityFromCert(leaf)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", f.Cert, err)
	}
	if id.Federation != federation {
		return nil, fmt.Errorf("pki: %s: %s is not in federation %q of the CA in %s", f.Cert, id, federation, f.CA)
	}
	if err := verifyLeaf(chain, pool); err != nil {
		return nil, fmt.Errorf("pki: %s does not verify against the CA in %s: %w", f.Cert, f.CA, err)
	}
	der := make([][]byte, len(chain))
	for i, c := range chain {
		der[i] = c.Raw
	}
	cert := tls.Certificate{Certificate: der, PrivateKey: key, Leaf: leaf}
	return &material{cert: cert, identity: id, pool: pool, federation: federation}, nil
}

// loadCAPool reads the CA file: one or more CA certificates, all of the same
// federation.
func loadCAPool(path string) (*x509.CertPool, string, error) {
	cas, err := readCertsFile(path)
	if err != nil {
		return nil, "", err
	}
	pool := x509.NewCertPool()
	federation := ""
	for _, c := range cas {
		fed, err := federationOfCA(c)
		if err != nil {
			return nil, "", fmt.Errorf("pki: %s: %w", path, err)
		}
		if federation != "" && fed != federation {
			return nil, "", fmt.Errorf("pki: %s: CA certificates of two federations (%q, %q)", path, federation, fed)
		}
		federation = fed
		pool.AddCert(c)
	}
	return pool, federation, nil
}

func verifyLeaf(chain []*x509.Certificate, pool *x509.CertPool) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   time.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	return err
}
