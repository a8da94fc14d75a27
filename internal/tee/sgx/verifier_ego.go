//go:build ego

package sgx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgelesssys/ego/attestation"

	"github.com/confed/confed/internal/tee"
)

// verifier verifies SGX remote reports with Open Enclave (through EGo) and
// then checks them against its policy.
type verifier struct {
	policy compiled
	now    func() time.Time
}

// NewVerifier checks p and returns a verifier for it.
func NewVerifier(p Policy) (tee.Verifier, error) {
	c, err := p.compile(nil, "")
	if err != nil {
		return nil, fmt.Errorf("sgx policy: %w", err)
	}
	return &verifier{policy: c, now: time.Now}, nil
}

// Verify implements tee.Verifier.
func (v *verifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	if ev.Kind != tee.KindSGX {
		return tee.Claims{}, fmt.Errorf("evidence kind %q: this verifier accepts only %q", ev.Kind, tee.KindSGX)
	}
	if len(ev.Raw) == 0 || len(ev.Raw) > MaxReportSize {
		return tee.Claims{}, fmt.Errorf("sgx: malformed report: %d bytes (want 1 to %d)", len(ev.Raw), MaxReportSize)
	}
	if err := ctx.Err(); err != nil {
		return tee.Claims{}, err
	}
	// Verification: signature, PCK chain, collateral (by Open Enclave).
	r, err := verifyRemoteReport(ev.Raw)
	tcbLevelInvalid := errors.Is(err, attestation.ErrTCBLevelInvalid)
	if err != nil && !tcbLevelInvalid {
		return tee.Claims{}, fmt.Errorf("sgx: report verification failed (signature, certificate chain or collateral): %v", err)
	}
	// Validation: the policy.
	return v.policy.evaluate(Report{
		Data:            r.Data,
		SecurityVersion: r.SecurityVersion,
		Debug:           r.Debug,
		UniqueID:        r.UniqueID,
		SignerID:        r.SignerID,
		ProductID:       r.ProductID,
		TCBStatus:       r.TCBStatus,
		TCBAdvisories:   r.TCBAdvisories,
	}, tcbLevelInvalid, reportData, v.now())
}
