package maa

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/confed/confed/internal/tee"
)

// Options are the parts of a Verifier that are not policy.
type Options struct {
	// HTTPClient fetches signing keys when the policy allows it; nil means
	// a client with a 30 s timeout.
	HTTPClient *http.Client
	// CertsURL replaces Issuer + "/certs" (tests serve keys locally).
	CertsURL string
	// Now is the time against which exp and nbf are checked; nil means
	// time.Now. Archived tokens verify only as of their own time.
	Now func() time.Time
}

// Verifier verifies MAA tokens against a Policy.
type Verifier struct {
	policy compiled
	keys   *keySource
	now    func() time.Time
}

var _ tee.Verifier = (*Verifier)(nil)

// NewVerifier checks p, reads its key bundle, and prepares a verifier.
func NewVerifier(p Policy, opts Options) (*Verifier, error) {
	c, err := p.compile()
	if err != nil {
		return nil, err
	}
	ks := &keySource{refresh: p.KeyRefresh.Std(), client: opts.HTTPClient}
	if ks.refresh == 0 {
		ks.refresh = DefaultKeyRefresh
	}
	if ks.client == nil {
		ks.client = &http.Client{Timeout: 30 * time.Second}
	}
	if p.KeyBundle != "" {
		b, err := os.ReadFile(p.KeyBundle)
		if err != nil {
			return nil, fmt.Errorf("azure-maa: key_bundle: %w", err)
		}
		if ks.bundle, err = ParseKeySet(b); err != nil {
			return nil, fmt.Errorf("azure-maa: key_bundle %s: %w", p.KeyBundle, err)
		}
	}
	if p.FetchKeys {
		ks.url = certsURL(p.Issuer)
		if opts.CertsURL != "" {
			ks.url = opts.CertsURL
		}
	}
	return &Verifier{policy: c, keys: ks, now: tee.Clock(opts.Now)}, nil
}

// Verify implements tee.Verifier.
func (v *Verifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	if err := tee.CheckEvidence(ctx, ev, tee.KindMAA); err != nil {
		return tee.Claims{}, err
	}
	t, err := ParseToken(ev.Raw)
	if err != nil {
		return tee.Claims{}, err
	}
	now := v.now()
	if err := verifySignature(ctx, t, v.keys, now); err != nil {
		return tee.Claims{}, err
	}
	tc, err := v.policy.checkToken(t, reportData, now)
	if err != nil {
		return tee.Claims{}, err
	}
	return makeClaims(v.policy.typ, t, tc, reportData, now), nil
}

func makeClaims(typ string, t *Token, tc claimSet, rd [64]byte, now time.Time) tee.Claims {
	c := tee.Claims{Kind: tee.KindMAA, ReportData: rd, VerifiedAt: now, Details: map[string]string{
		"attestation_type": typ, "signing_key": t.Header.Kid,
	}}
	c.Details["issuer"], _ = claimSet(t.Claims).str("iss")
	if typ == TypeSGX {
		c.Measurement, _ = tc.hexBytes("x-ms-sgx-mrenclave", 32)
		svn, _ := tc.uint("x-ms-sgx-svn")
		pid, _ := tc.uint("x-ms-sgx-product-id")
		c.TCB = "svn " + strconv.FormatUint(svn, 10)
		c.Details["mrsigner"], _ = tc.str("x-ms-sgx-mrsigner")
		c.Details["product_id"] = strconv.FormatUint(pid, 10)
		c.Details["tcb_identifier"], _ = tc.str("x-ms-sgx-tcbidentifier")
		return c
	}
	c.Measurement, _ = tc.hexBytes("x-ms-sevsnpvm-launchmeasurement", 48)
	svn, _ := tc.uint("x-ms-sevsnpvm-guestsvn")
	c.TCB = "guest svn " + strconv.FormatUint(svn, 10)
	for _, k := range []string{"x-ms-compliance-status", "x-ms-sevsnpvm-hostdata", "x-ms-sevsnpvm-idkeydigest"} {
		if s, ok := tc.str(k); ok {
			c.Details[k] = s
		}
	}
	return c
}

// Describe lists a token's header and claims. It verifies nothing.
func Describe(raw []byte) ([][2]string, error) {
	t, err := ParseToken(raw)
	if err != nil {
		return nil, err
	}
	out := [][2]string{{"alg", t.Header.Alg}, {"kid", t.Header.Kid}, {"jku", t.Header.Jku}}
	names := make([]string, 0, len(t.Claims))
	for k := range t.Claims {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, [2]string{k, render(t.Claims[k])})
	}
	return out, nil
}
