package nvgpu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"

	"github.com/confed/confed/internal/tee/pinned"
)

// verifyEvidence checks the chain to roots as of now and the report's
// signature with the leaf certificate's key.
func verifyEvidence(p *parsed, roots *x509.CertPool, now time.Time) error {
	leaf := p.chain[0]
	if err := pinned.VerifyChain(leaf, p.chain[1:], roots, now); err != nil {
		return fmt.Errorf("nvidia-gpu: %w", err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P384() {
		return fmt.Errorf("nvidia-gpu: attestation certificate key is not ECDSA P-384")
	}
	h := sha512.New384()
	h.Write(p.report.Request)
	h.Write(p.report.Response)
	r := new(big.Int).SetBytes(p.report.Signature[:48])
	s := new(big.Int).SetBytes(p.report.Signature[48:])
	if !ecdsa.Verify(pub, h.Sum(nil), r, s) {
		return fmt.Errorf("nvidia-gpu: the attestation report's signature does not verify with %q", leaf.Subject.CommonName)
	}
	return nil
}

// VerifyRaw parses GPU evidence and verifies its chain to the embedded
// NVIDIA root (or roots, if given) and its signature, as of now. It checks
// nothing of the policy.
func VerifyRaw(raw []byte, roots []*x509.Certificate, now time.Time) (*Report, error) {
	p, err := parseEvidence(raw)
	if err != nil {
		return nil, err
	}
	pool, err := rootPool(roots)
	if err != nil {
		return nil, err
	}
	if err := verifyEvidence(p, pool, now); err != nil {
		return nil, err
	}
	return p.report, nil
}

func rootPool(roots []*x509.Certificate) (*x509.CertPool, error) {
	return pinned.Pool(roots, DeviceRoot)
}
