package snp

import (
	"context"
	"fmt"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/google/go-sev-guest/verify/trust"
)

// Options are the parts of a Verifier that are not policy: trust anchors,
// the key-server fetcher and the clock. Production code leaves them zero.
type Options struct {
	// TrustedRoots are the ARK/ASK(/ASVK) certificates to trust, by product
	// line. Nil means AMD's roots for Milan, Genoa and Turin as embedded in
	// go-sev-guest (ARK, ASK and ASVK); tests pass a fake chain.
	TrustedRoots map[string][]*trust.AMDRootCerts
	// Getter fetches from AMD's key server. Nil means HTTPS with
	// go-sev-guest's retrying getter. Whatever it is, responses are cached
	// (Collateral.CacheDir, Collateral.MaxAge). It is not used at all in
	// offline mode.
	Getter trust.HTTPSGetter
	// Now is the time at which certificates must be valid. Nil means
	// time.Now; an auditor verifying archived evidence passes the time the
	// evidence was produced.
	Now func() time.Time
}

// Verifier verifies SEV-SNP evidence against a Policy. It is safe for
// concurrent use.
type Verifier struct {
	policy           compiled
	roots            map[string][]*trust.AMDRootCerts
	getter           trust.HTTPSGetter
	now              func() time.Time
	offline          bool
	checkRevocations bool
	bundle           *bundle
}

var _ tee.Verifier = (*Verifier)(nil)

// NewVerifier checks p and prepares a verifier. It reads the collateral
// bundle, if any, and creates the cache directory, so configuration
// mistakes show at start-up rather than at the first Verify.
func NewVerifier(p Policy, opts Options) (*Verifier, error) {
	c, err := p.compile()
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		policy:           c,
		roots:            opts.TrustedRoots,
		now:              opts.Now,
		offline:          p.Collateral.Offline,
		checkRevocations: p.Collateral.RevocationsChecked(),
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.roots == nil {
		if v.roots, err = defaultRoots(); err != nil {
			return nil, fmt.Errorf("sev-snp: AMD roots: %v", err)
		}
	}
	if p.Collateral.Bundle != "" {
		if v.bundle, err = loadBundle(p.Collateral.Bundle); err != nil {
			return nil, err
		}
		if err := v.bundle.checkRoots(v.roots); err != nil {
			return nil, err
		}
	}
	if v.offline {
		var crls map[string][]byte
		if v.bundle != nil {
			crls = v.bundle.crls
		}
		if v.checkRevocations && len(crls) == 0 {
			return nil, fmt.Errorf("sev-snp: collateral.check_revocations: offline mode needs AMD's CRL (an X509 CRL block) in collateral.bundle %s, or check_revocations: false", p.Collateral.Bundle)
		}
		v.getter = offlineGetter{crls: crls}
		return v, nil
	}
	next := opts.Getter
	if next == nil {
		next = trust.DefaultHTTPSGetter()
	}
	if v.getter, err = newCachingGetter(next, p.Collateral.CacheDir, p.Collateral.maxAge().Std()); err != nil {
		return nil, err
	}
	return v, nil
}

// Verify implements tee.Verifier: it parses the evidence, verifies its
// signature and certificate chain, validates it against the policy and the
// expected report data, and only then returns claims.
func (v *Verifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (claims tee.Claims, err error) {
	defer func() {
		// Defence in depth: go-sev-guest parses untrusted bytes; a panic in
		// it must refuse the evidence, not crash the verifier.
		if r := recover(); r != nil {
			claims, err = tee.Claims{}, fmt.Errorf("sev-snp: evidence refused: verification failed unexpectedly: %v", r)
		}
	}()
	if ev.Kind != tee.KindSEVSNP {
		return tee.Claims{}, fmt.Errorf("sev-snp: evidence kind %q: this verifier accepts only %q", ev.Kind, tee.KindSEVSNP)
	}
	if err := ctx.Err(); err != nil {
		return tee.Claims{}, err
	}
	att, err := parseEvidence(ev.Raw)
	if err != nil {
		return tee.Claims{}, err
	}
	now := v.now()
	if err := v.verifyChain(ctx, att, now); err != nil {
		return tee.Claims{}, err
	}
	if err := v.policy.check(att, reportData); err != nil {
		return tee.Claims{}, err
	}
	return makeClaims(att, reportData, now), nil
}
