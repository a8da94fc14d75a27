package ledger

import (
	"crypto/ed25519"
	"fmt"

	"github.com/confed/confed/internal/manifest"
)

// ManifestSignatureContext separates manifest signatures from any other use
// of the aggregator's key. The signed message is
// ManifestSignatureContext || 0x00 || manifest.
const ManifestSignatureContext = manifest.SignatureContext

// ErrBadSignature reports a manifest signature that does not verify.
var ErrBadSignature = manifest.ErrBadSignature

// SignManifest signs a serialized ModelManifest with the aggregator's key.
// It returns nil if priv is not an Ed25519 private key (wrong length), which
// no verifier accepts.
func SignManifest(priv ed25519.PrivateKey, m []byte) []byte {
	return manifest.SignRaw(priv, m)
}

// VerifyManifest checks sig, made by [SignManifest], over the serialized
// manifest m with the Ed25519 public key pub. Malformed keys and signatures
// are errors, never panics; a well-formed signature that does not verify
// wraps [ErrBadSignature].
func VerifyManifest(pub, m, sig []byte) error {
	if err := manifest.VerifySignature(pub, m, sig); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}
