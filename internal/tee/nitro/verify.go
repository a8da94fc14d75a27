package nitro

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/confed/confed/internal/tee/cose"
	"github.com/confed/confed/internal/tee/pinned"
)

// VerifyDocument parses raw and verifies its certificate chain up to roots
// as of now and its COSE signature. It checks nothing of the policy.
func VerifyDocument(raw []byte, roots *x509.CertPool, now time.Time) (*Document, error) {
	d, err := ParseDocument(raw)
	if err != nil {
		return nil, err
	}
	if d.sign1.Alg != cose.AlgES384 {
		return nil, fmt.Errorf("nitro: document signed with %s, want ES384", cose.AlgName(d.sign1.Alg))
	}
	// CABundle[0] is the root: only the pinned one counts.
	if err := pinned.VerifyChain(d.Certificate, d.CABundle[1:], roots, now); err != nil {
		return nil, fmt.Errorf("nitro: %w", err)
	}
	pub, ok := d.Certificate.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("nitro: signing certificate key is %T, want ECDSA P-384", d.Certificate.PublicKey)
	}
	if err := d.sign1.Verify(pub); err != nil {
		return nil, fmt.Errorf("nitro: document signature: %w", err)
	}
	return d, nil
}
