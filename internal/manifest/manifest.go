// Package manifest signs and verifies the manifests of published models.
//
// A manifest (confedv1.ModelManifest) names a model by its SHA-256 and says
// which round produced it from which parent and contributions. The aggregator
// signs the serialized manifest with an Ed25519 key that its TEE evidence
// binds; whoever uses a model (participants, the coordinator, auditors)
// checks the evidence, the binding and the signature before trusting it.
package manifest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// SignatureContext separates manifest signatures from any other use of the key.
const SignatureContext = "confed/v1/model-manifest"

func signedBytes(manifest []byte) []byte {
	msg := make([]byte, 0, len(SignatureContext)+1+len(manifest))
	msg = append(msg, SignatureContext...)
	msg = append(msg, 0)
	return append(msg, manifest...)
}

// Signer signs manifests with a key bound in TEE evidence.
type Signer struct {
	Key      ed25519.PrivateKey
	Evidence tee.Evidence
}

// Sign serializes m and signs it.
func (s *Signer) Sign(m *confedv1.ModelManifest) (*confedv1.SignedManifest, error) {
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("serializing manifest: %w", err)
	}
	return &confedv1.SignedManifest{
		Manifest:        raw,
		Signature:       SignRaw(s.Key, raw),
		SignerPublicKey: s.Key.Public().(ed25519.PublicKey),
		Evidence:        &confedv1.Evidence{Kind: s.Evidence.Kind, Raw: s.Evidence.Raw},
	}, nil
}

// ErrBadSignature reports a well-formed manifest signature that does not verify.
var ErrBadSignature = errors.New("manifest signature does not verify")

// SignRaw signs a serialized manifest. It returns nil if priv is not an
// Ed25519 private key, which no verifier accepts.
func SignRaw(priv ed25519.PrivateKey, raw []byte) []byte {
	if len(priv) != ed25519.PrivateKeySize {
		return nil
	}
	return ed25519.Sign(priv, signedBytes(raw))
}

// VerifySignature checks the Ed25519 signature over a serialized manifest.
// Malformed keys and signatures are errors, never panics.
func VerifySignature(pub, raw, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("signer public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("manifest signature is %d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, signedBytes(raw), sig) {
		return ErrBadSignature
	}
	return nil
}

// SigningKeyReportData is the report data an aggregator's evidence must carry
// to bind its signing key within a federation.
func SigningKeyReportData(federation string, pub []byte) [64]byte {
	return tee.ReportData(tee.LabelSigningKey, []byte(federation), pub)
}

// Verified is a manifest whose signature and evidence checked out.
type Verified struct {
	Manifest *confedv1.ModelManifest
	Claims   tee.Claims
}

// Verify checks that s is signed by a key that verifier-accepted evidence
// binds for federation, and returns the decoded manifest.
func Verify(ctx context.Context, s *confedv1.SignedManifest, v tee.Verifier, federation string) (*Verified, error) {
	if s == nil || s.GetEvidence() == nil {
		return nil, errors.New("manifest has no evidence")
	}
	ev := tee.Evidence{Kind: s.GetEvidence().GetKind(), Raw: s.GetEvidence().GetRaw()}
	claims, err := v.Verify(ctx, ev, SigningKeyReportData(federation, s.GetSignerPublicKey()))
	if err != nil {
		return nil, fmt.Errorf("verifying aggregator evidence: %w", err)
	}
	if err := VerifySignature(s.GetSignerPublicKey(), s.GetManifest(), s.GetSignature()); err != nil {
		return nil, err
	}
	m := new(confedv1.ModelManifest)
	if err := proto.Unmarshal(s.GetManifest(), m); err != nil {
		return nil, fmt.Errorf("decoding manifest: %w", err)
	}
	if m.GetFederation() != federation {
		return nil, fmt.Errorf("manifest is for federation %q, want %q", m.GetFederation(), federation)
	}
	if m.GetInsecure() != claims.Insecure || m.GetTeeKind() != claims.Kind {
		return nil, fmt.Errorf("manifest claims TEE %q (insecure=%v) but evidence is %q (insecure=%v)", m.GetTeeKind(), m.GetInsecure(), claims.Kind, claims.Insecure)
	}
	return &Verified{Manifest: m, Claims: claims}, nil
}
