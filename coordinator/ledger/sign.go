package ledger

import (
	"crypto/ed25519"
	"errors"
	"fmt"
)

// ManifestSignatureContext separates manifest signatures from any other use
// of the aggregator's key. The signed message is
// ManifestSignatureContext || 0x00 || manifest.
const ManifestSignatureContext = "confed/v1/model-manifest"

// ErrBadSignature reports a manifest signature that does not verify.
var ErrBadSignature = errors.New("manifest signature does not verify")

// manifestMessage returns the bytes a manifest signature covers.
func manifestMessage(manifest []byte) []byte {
	msg := make([]byte, 0, len(ManifestSignatureContext)+1+len(manifest))
	msg = append(msg, ManifestSignatureContext...)
	msg = append(msg, 0)
	return append(msg, manifest...)
}

// SignManifest signs a serialized ModelManifest with the aggregator's key.
// It returns nil if priv is not an Ed25519 private key (wrong length), which
// no verifier accepts.
func SignManifest(priv ed25519.PrivateKey, manifest []byte) []byte {
	if len(priv) != ed25519.PrivateKeySize {
		return nil
	}
	return ed25519.Sign(priv, manifestMessage(manifest))
}

// VerifyManifest checks sig, made by [SignManifest], over manifest with the
// Ed25519 public key pub. Malformed keys and signatures are errors, never
// panics; a well-formed signature that does not verify wraps
// [ErrBadSignature].
func VerifyManifest(pub, manifest, sig []byte) error {
	if err := verifyManifest(pub, manifest, sig); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

func verifyManifest(pub, manifest, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("signer public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("manifest signature is %d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(ed25519.PublicKey(pub), manifestMessage(manifest), sig) {
		return ErrBadSignature
	}
	return nil
}
