package cca

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/cose"
)

// Options are the parts of a Verifier that are not policy.
type Options struct {
	// Now stamps the claims; nil means time.Now. (CCA tokens carry no
	// certificates or expiry to check.)
	Now func() time.Time
}

// Verifier verifies CCA tokens against a Policy.
type Verifier struct {
	policy compiled
	now    func() time.Time
}

var _ tee.Verifier = (*Verifier)(nil)

// NewVerifier checks p, reads its platform keys, and prepares a verifier.
func NewVerifier(p Policy, opts Options) (*Verifier, error) {
	c, err := p.compile()
	if err != nil {
		return nil, err
	}
	return &Verifier{policy: c, now: tee.Clock(opts.Now)}, nil
}

// Verify implements tee.Verifier.
func (v *Verifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	if err := tee.CheckEvidence(ctx, ev, tee.KindCCA); err != nil {
		return tee.Claims{}, err
	}
	t, err := VerifyToken(ev.Raw, v.policy.keys)
	if err != nil {
		return tee.Claims{}, err
	}
	if err := v.policy.check(t, reportData); err != nil {
		return tee.Claims{}, err
	}
	return makeClaims(t, reportData, v.now()), nil
}

func makeClaims(t *Token, rd [64]byte, now time.Time) tee.Claims {
	return tee.Claims{
		Kind:        tee.KindCCA,
		Measurement: append([]byte(nil), t.Realm.RIM...),
		TCB:         fmt.Sprintf("lifecycle 0x%04x (%s)", t.Platform.Lifecycle, LifecycleName(t.Platform.Lifecycle)),
		ReportData:  rd,
		VerifiedAt:  now,
		Details: map[string]string{
			"personalization_value":  hex.EncodeToString(t.Realm.Personalization),
			"implementation_id":      hex.EncodeToString(t.Platform.ImplementationID),
			"instance_id":            hex.EncodeToString(t.Platform.InstanceID),
			"platform_profile":       t.Platform.Profile,
			"platform_sw_components": strconv.Itoa(len(t.Platform.SWComponents)),
			"platform_key":           strconv.Itoa(t.PlatformKey),
			"signature_algorithms":   cose.AlgName(t.PlatformAlg) + " (platform), " + cose.AlgName(t.RealmAlg) + " (realm)",
		},
	}
}
