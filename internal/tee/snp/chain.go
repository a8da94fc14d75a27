package snp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/verify"
	"github.com/google/go-sev-guest/verify/trust"
)

// verifyChain is the "verify" step: the report's signature by its VCEK or
// VLEK, that key's certificate chain up to a trusted AMD root at time now,
// and, if configured, AMD's CRL. It knows nothing of the policy.
func (v *Verifier) verifyChain(ctx context.Context, att *spb.Attestation, now time.Time) error {
	v.bundle.fill(att)
	// go-sev-guest mutates its options (the product expectation, through a
	// pointer) and caches CRLs inside the root objects: every call gets
	// fresh options and fresh root objects, so that neither a previous call
	// nor the library's CRL cache decides this one (CRL caching is the
	// getter's, bounded by collateral.max_age).
	opts := &verify.Options{
		CheckRevocations:    v.checkRevocations,
		DisableCertFetching: v.offline,
		Getter:              v.getter,
		Now:                 now,
		TrustedRoots:        cloneRoots(v.roots),
	}
	if v.policy.product != "" {
		// Checked by the library for v2 reports (VCEK product name); the
		// validate step checks it for all reports.
		opts.Product, _ = kds.ParseProductLine(v.policy.product)
	}
	err := verify.SnpAttestationContext(ctx, att, opts)
	if err == nil {
		return nil
	}
	var crl verify.CRLUnavailableErr
	switch {
	case errors.As(err, &crl):
		return fmt.Errorf("sev-snp: revocation check: AMD's certificate revocation list is unavailable, refusing: %v", err)
	case strings.Contains(err.Error(), "report signature verification error"):
		return fmt.Errorf("sev-snp: report signature does not verify: %v", err)
	case strings.Contains(err.Error(), "was revoked"):
		return fmt.Errorf("sev-snp: certificate chain: revoked: %v", err)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sev-snp: certificate chain: %w", err)
	}
	return fmt.Errorf("sev-snp: certificate chain: %v", err)
}

// cloneRoots copies the root objects (not the certificates) so that the
// library's per-root CRL cache starts empty on every call.
func cloneRoots(roots map[string][]*trust.AMDRootCerts) map[string][]*trust.AMDRootCerts {
	out := make(map[string][]*trust.AMDRootCerts, len(roots))
	for line, rs := range roots {
		for _, r := range rs {
			if r == nil {
				continue
			}
			out[line] = append(out[line], &trust.AMDRootCerts{
				ProductLine:  r.GetProductLine(),
				ProductCerts: r.ProductCerts,
				AskSev:       r.AskSev,
				ArkSev:       r.ArkSev,
			})
		}
	}
	return out
}
