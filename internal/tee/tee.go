// Package tee is the seam between confed and Trusted Execution Environments.
//
// An Issuer runs inside a TEE and produces evidence that binds 64 bytes of
// caller-chosen report data; a Verifier checks such evidence and returns the
// claims it could verify. Signature and chain checks ("verify") are kept
// apart from policy checks ("validate") in each implementation; both must
// pass before claims are returned.
//
// Implementations live in subpackages, one per TEE: snp (AMD SEV-SNP),
// tdx (Intel TDX), sgx (Intel SGX via EGo, behind build tags), nitro (AWS
// Nitro Enclaves), maa (Azure Attestation tokens), cca (Arm CCA), nvgpu
// (NVIDIA confidential GPUs, reported next to a CPU TEE in Claims.GPU) and
// simulated, an INSECURE stand-in for development that must be enabled
// explicitly and is labelled as such wherever it appears. Package provider
// picks one from a configuration.
package tee

import (
	"context"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"time"
)

// Evidence is attestation evidence in the TEE's own format.
type Evidence struct {
	// Kind names the TEE that produced Raw (see the Kind constants).
	Kind string
	Raw  []byte
}

// Kinds of evidence.
const (
	KindSimulated = "simulated-insecure"
	KindSEVSNP    = "sev-snp"
	KindTDX       = "tdx"
	KindSGX       = "sgx"
	// KindNitro is an AWS Nitro Enclaves attestation document.
	KindNitro = "aws-nitro"
	// KindMAA is an Azure Attestation (MAA) token for an SEV-SNP CVM or
	// an SGX enclave.
	KindMAA = "azure-maa"
	// KindCCA is an Arm CCA attestation token (platform and realm).
	KindCCA = "arm-cca"
	// KindNVGPU is an NVIDIA H100/H200 confidential-computing GPU
	// attestation report with its certificate chain.
	KindNVGPU = "nvidia-gpu"
)

// Claims are what a Verifier established about the peer.
type Claims struct {
	Kind string
	// Insecure is true when the evidence came from the simulated TEE, which
	// gives no hardware protection at all.
	Insecure    bool
	Measurement []byte
	Debug       bool
	TCB         string
	ReportData  [64]byte
	VerifiedAt  time.Time
	// Details are further verified fields, by name, for display and for
	// the ledger (e.g. "vmpl", "guest_svn", "host_data", "rtmr0").
	Details map[string]string
	// GPU holds the verified claims of GPUs attested together with this
	// TEE (composite attestation: CPU TEE evidence plus NVIDIA GPU
	// evidence bound to the same report data), one per GPU.
	GPU []Claims
}

// Issuer produces evidence binding reportData.
//
// Contract: Issue is safe for concurrent use; it returns an error, never
// partial evidence, when the TEE cannot be reached.
type Issuer interface {
	Kind() string
	Issue(ctx context.Context, reportData [64]byte) (Evidence, error)
}

// Verifier checks evidence against its policy.
//
// Contract: Verify returns claims only if every check passed, including that
// the evidence binds exactly reportData; otherwise it returns an error that
// names the failed check. It is safe for concurrent use.
type Verifier interface {
	Verify(ctx context.Context, ev Evidence, reportData [64]byte) (Claims, error)
}

// ErrInsecureRefused is returned when simulated evidence meets a verifier
// that was not explicitly told to accept the insecure simulated TEE.
var ErrInsecureRefused = errors.New("simulated TEE evidence refused: it gives no protection and is accepted only with --insecure-simulated-tee")

// Labels that separate the purposes for which report data is computed.
const (
	// LabelSigningKey binds an aggregator's model-signing public key.
	LabelSigningKey = "confed/v1/aggregator-signing-key"
)

// ReportData derives the 64 bytes bound into evidence from a domain
// separation label and length-prefixed parts, so that no two different
// inputs share report data.
func ReportData(label string, parts ...[]byte) [64]byte {
	h := sha512.New()
	writePart(h, []byte(label))
	for _, p := range parts {
		writePart(h, p)
	}
	var out [64]byte
	copy(out[:], h.Sum(nil))
	return out
}

func writePart(h interface{ Write([]byte) (int, error) }, p []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(p)))
	h.Write(n[:])
	h.Write(p)
}
