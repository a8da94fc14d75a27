package tdx

import (
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

// IntelSGXRootCAFingerprint is the SHA-256 of the DER of Intel's SGX Root
// CA certificate, which anchors every TDX (and SGX DCAP) quote.
const IntelSGXRootCAFingerprint = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

// intelRootPEM is Intel's SGX Root CA, copied from go-tdx-guest's
// verify/trusted_root.pem. It is pinned here, and always passed to the
// library as TrustedRoots, so that the trust anchor is visible in confed's
// source and the library never prints its "Using embedded Intel
// certificate" warning to stdout.
//
//go:embed intel_sgx_root_ca.pem
var intelRootPEM []byte

// intelRoot parses the embedded root and checks its fingerprint.
func intelRoot() (*x509.Certificate, error) {
	block, _ := pem.Decode(intelRootPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("tdx: embedded Intel SGX Root CA is not a PEM certificate")
	}
	if sum := sha256.Sum256(block.Bytes); hex.EncodeToString(sum[:]) != IntelSGXRootCAFingerprint {
		return nil, fmt.Errorf("tdx: embedded Intel SGX Root CA has fingerprint %x, want %s", sum, IntelSGXRootCAFingerprint)
	}
	return x509.ParseCertificate(block.Bytes)
}

// IntelRoots returns a pool holding only Intel's SGX Root CA.
func IntelRoots() (*x509.CertPool, error) {
	root, err := intelRoot()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool, nil
}
