package nitro

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/pinned"
)

// Options are the parts of a Verifier that are not policy. Production code
// leaves them zero.
type Options struct {
	// Roots replaces the embedded AWS root (tests pass nitrotest's root).
	Roots []*x509.Certificate
	// Now is the time at which certificates must be valid; nil means
	// time.Now. Nitro signing certificates live for hours: archived
	// documents verify only as of their own timestamp.
	Now func() time.Time
}

// Verifier verifies Nitro attestation documents against a Policy.
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
	roots, err := pinned.Pool(opts.Roots, AWSRoot)
	if err != nil {
		return nil, err
	}
	return &Verifier{policy: c, roots: roots, now: tee.Clock(opts.Now)}, nil
}

// Verify implements tee.Verifier.
func (v *Verifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	if err := tee.CheckEvidence(ctx, ev, tee.KindNitro); err != nil {
		return tee.Claims{}, err
	}
	now := v.now()
	d, err := VerifyDocument(ev.Raw, v.roots, now)
	if err != nil {
		return tee.Claims{}, err
	}
	if err := v.policy.check(d, reportData, now); err != nil {
		return tee.Claims{}, err
	}
	return makeClaims(d, reportData, now), nil
}

func makeClaims(d *Document, reportData [64]byte, now time.Time) tee.Claims {
	det := map[string]string{
		"module_id": d.ModuleID,
		"timestamp": d.Timestamp.Format(time.RFC3339Nano),
		"signer":    d.Certificate.Subject.CommonName,
	}
	for _, i := range []uint{1, 2, 3, 4, 8} {
		if p, ok := d.PCRs[i]; ok {
			det["pcr"+strconv.Itoa(int(i))] = hex.EncodeToString(p)
		}
	}
	return tee.Claims{
		Kind:        tee.KindNitro,
		Measurement: append([]byte(nil), d.PCRs[0]...),
		Debug:       false, // a debug enclave (PCR0 zero) never gets here
		TCB:         "aws-nitro-enclaves",
		ReportData:  reportData,
		VerifiedAt:  now,
		Details:     det,
	}
}
