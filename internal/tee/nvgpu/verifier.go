package nvgpu

import (
	"context"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/confed/confed/internal/tee"
)

// Options are the parts of a Verifier that are not policy.
type Options struct {
	// Roots replaces the embedded NVIDIA root (tests).
	Roots []*x509.Certificate
	// Now is the time for certificate validity; nil means time.Now.
	Now func() time.Time
}

// Verifier verifies GPU evidence against a Policy.
type Verifier struct {
	policy compiled
	roots  *x509.CertPool
	now    func() time.Time
}

var _ tee.Verifier = (*Verifier)(nil)

// NewVerifier checks p and prepares a verifier.
func NewVerifier(p Policy, opts Options) (*Verifier, error) {
	c, err := p.compile()
	if err != nil {
		return nil, err
	}
	pool, err := rootPool(opts.Roots)
	if err != nil {
		return nil, err
	}
	return &Verifier{policy: c, roots: pool, now: tee.Clock(opts.Now)}, nil
}

// Verify implements tee.Verifier for standalone GPU evidence.
func (v *Verifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	if err := tee.CheckEvidence(ctx, ev, tee.KindNVGPU); err != nil {
		return tee.Claims{}, err
	}
	p, err := parseEvidence(ev.Raw)
	if err != nil {
		return tee.Claims{}, err
	}
	now := v.now()
	if err := verifyEvidence(p, v.roots, now); err != nil {
		return tee.Claims{}, err
	}
	if err := v.policy.check(p.report, reportData); err != nil {
		return tee.Claims{}, err
	}
	return makeClaims(p, reportData, now), nil
}

// Attach verifies the evidence of each GPU against v with the same report
// data as the CPU TEE's evidence, and returns cpu with the GPUs' claims in
// its GPU field: a composite attestation of a confidential VM and its GPUs.
// It fails if any GPU fails.
func Attach(ctx context.Context, cpu tee.Claims, v *Verifier, gpus [][]byte, reportData [64]byte) (tee.Claims, error) {
	if len(gpus) == 0 { // asked to check GPUs and given none: refuse, do not pass the CPU alone
		return tee.Claims{}, errors.New("nvidia-gpu: no GPU evidence to attach")
	}
	for i, raw := range gpus {
		c, err := v.Verify(ctx, tee.Evidence{Kind: tee.KindNVGPU, Raw: raw}, reportData)
		if err != nil {
			return tee.Claims{}, fmt.Errorf("GPU %d: %w", i, err)
		}
		cpu.GPU = append(cpu.GPU, c)
	}
	return cpu, nil
}

func makeClaims(p *parsed, reportData [64]byte, now time.Time) tee.Claims {
	r := p.report
	sum := sha512.Sum384(r.record)
	leaf := p.chain[0]
	return tee.Claims{
		Kind:        tee.KindNVGPU,
		Measurement: sum[:],
		TCB:         "driver " + cString(r.Opaque[OpaqueDriverVersion]) + ", vbios " + hex.EncodeToString(r.Opaque[OpaqueVBIOSVersion]),
		ReportData:  reportData,
		VerifiedAt:  now,
		Details: map[string]string{
			"measurements":       strconv.Itoa(len(r.Measurements)),
			"driver_version":     cString(r.Opaque[OpaqueDriverVersion]),
			"vbios_version":      hex.EncodeToString(r.Opaque[OpaqueVBIOSVersion]),
			"project":            cString(r.Opaque[OpaqueProject]),
			"nonce":              hex.EncodeToString(r.Nonce),
			"certificate":        leaf.Subject.CommonName,
			"certificate_issuer": leaf.Issuer.CommonName,
			"device_serial":      leaf.Subject.SerialNumber,
		},
	}
}
