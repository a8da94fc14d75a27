package tdx

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	pb "github.com/google/go-tdx-guest/proto/tdx"
	"github.com/google/go-tdx-guest/validate"
	"github.com/google/go-tdx-guest/verify"
	"github.com/google/go-tdx-guest/verify/trust"

	"github.com/confed/confed/internal/tee"
)

// tdAttributesDebug is bit 0 of TD_ATTRIBUTES: the TD runs in debug mode,
// and the host can read and write its memory and registers.
const tdAttributesDebug = 1 << 0

// Intel's TD quoting enclave, as published in Intel PCS's QE identity
// (id TD_QE): the MRSIGNER of Intel's enclave signing key and ISVPRODID 2.
const (
	intelQEMRSigner = "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"
	tdQEProductID   = 2
	// sgxAttributesDebug is bit 1 of an SGX enclave's ATTRIBUTES.
	sgxAttributesDebug = 1 << 1
)

// Options are the verifier's trust anchors and environment. The zero value
// is what production wants.
type Options struct {
	// TrustedRoots anchors the PCK certificate chain. nil means Intel's SGX
	// Root CA as pinned in this package (IntelRoots).
	TrustedRoots *x509.CertPool
	// Getter fetches collateral from Intel PCS. nil means HTTPS with a 30 s
	// timeout and a 1 MiB response limit. Responses are cached per
	// Policy.Collateral whichever getter is used.
	Getter trust.HTTPSGetter
	// Now is the time at which certificates and collateral must be valid,
	// and the clock of the collateral cache. nil means time.Now.
	Now func() time.Time
}

// Verifier verifies TDX quotes against a Policy. It is safe for concurrent
// use.
type Verifier struct {
	policy compiled
	roots  *x509.CertPool
	getter trust.HTTPSGetter // nil when offline
	now    func() time.Time
}

var _ tee.Verifier = (*Verifier)(nil)

// NewVerifier checks p and returns a verifier for it.
func NewVerifier(p Policy, opts Options) (*Verifier, error) {
	c, err := p.compile(nil, "")
	if err != nil {
		return nil, fmt.Errorf("tdx policy: %w", err)
	}
	v := &Verifier{policy: c, roots: opts.TrustedRoots, now: opts.Now}
	if v.now == nil {
		v.now = time.Now
	}
	if v.roots == nil {
		if v.roots, err = IntelRoots(); err != nil {
			return nil, err
		}
	}
	if !c.offline {
		base := opts.Getter
		if base == nil {
			base = newHTTPSGetter()
		}
		cache, err := newCollateralCache(base, c.cacheDir, c.maxAge, v.now)
		if err != nil {
			return nil, err
		}
		v.getter = cache
	}
	return v, nil
}

// Verify implements tee.Verifier: it parses the quote, verifies its
// signature, certificate chain and collateral, then validates it against
// the policy and reportData, and returns the claims only if all passed.
func (v *Verifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	if ev.Kind != tee.KindTDX {
		return tee.Claims{}, fmt.Errorf("evidence kind %q: this verifier accepts only %q", ev.Kind, tee.KindTDX)
	}
	q, err := parseQuote(ev.Raw)
	if err != nil {
		return tee.Claims{}, err
	}
	now := v.now()
	if err := v.verifyQuote(ctx, q, now); err != nil {
		return tee.Claims{}, err
	}
	if err := v.policy.check(q, reportData); err != nil {
		return tee.Claims{}, err
	}
	return v.claims(q, reportData, now), nil
}

// verifyQuote checks the quote's signature, its PCK certificate chain up to
// the trusted root and, unless offline, Intel's collateral (TCB info, QE
// identity: the TCB must be UpToDate) and the CRLs if configured. Any
// failure to fetch collateral fails verification.
func (v *Verifier) verifyQuote(ctx context.Context, q *pb.QuoteV4, now time.Time) (err error) {
	// The library mutates its options (it stores the chain and collateral
	// in them), so they are built afresh for every call.
	opts := &verify.Options{
		GetCollateral:    !v.policy.offline,
		CheckRevocations: !v.policy.offline && v.policy.checkRevocations,
		Getter:           v.getter,
		Now:              &verify.TimeSet{PckCertChain: now, TcbInfo: now, QeIdentity: now, PckCrl: now, RootCaCrl: now},
		TrustedRoots:     v.roots,
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tdx: quote verification failed: verifier failed on malformed input: %v", r)
		}
	}()
	if err := verify.TdxQuoteContext(ctx, q, opts); err != nil {
		return fmt.Errorf("tdx: quote verification failed (signature, PCK chain or collateral): %w", err)
	}
	return checkQEIdentity(q)
}

// checkQEIdentity checks that the enclave that signed the quote is Intel's
// TD quoting enclave and not in debug mode. With collateral the library
// checks this against Intel's signed QE identity; offline it does not, and
// on platforms with flexible launch control any enclave can have its
// attestation key certified by the PCK, so without this check a host
// could sign TD quotes with a quoting enclave of its own.
func checkQEIdentity(q *pb.QuoteV4) error {
	qe := q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetQeReport()
	if got := hex.EncodeToString(qe.GetMrSigner()); got != intelQEMRSigner || qe.GetIsvProdId() != tdQEProductID {
		return fmt.Errorf("tdx: quote verification failed: the quoting enclave is not Intel's TD QE (MRSIGNER %s, ISVPRODID %d)", got, qe.GetIsvProdId())
	}
	if attrs := qe.GetAttributes(); len(attrs) == 0 || attrs[0]&sgxAttributesDebug != 0 {
		return fmt.Errorf("tdx: quote verification failed: the quoting enclave runs in debug mode (ATTRIBUTES %x)", attrs)
	}
	return nil
}

// check validates a parsed (and, in Verify, verified) quote against the
// policy. It is separate from verification so that it can be tested with
// quotes that no longer carry a valid signature.
func (c compiled) check(q *pb.QuoteV4, reportData [64]byte) error {
	body := q.GetTdQuoteBody()
	attrs := body.GetTdAttributes()
	if len(attrs) != 8 {
		return fmt.Errorf("tdx: malformed quote: TD_ATTRIBUTES is %d bytes, want 8", len(attrs))
	}
	if binary.LittleEndian.Uint64(attrs)&tdAttributesDebug != 0 {
		return fmt.Errorf("tdx: debug TD refused (TD_ATTRIBUTES %x has the DEBUG bit set): its memory is open to the host", attrs)
	}
	checks := []struct {
		name string
		opts validate.Options
	}{
		// With no options set, the library checks only the quote's shape
		// and the fixed XFAM and TD_ATTRIBUTES bits (which every later
		// call checks again), so a failure there is not blamed on the
		// report data.
		{"XFAM and TD_ATTRIBUTES fixed bits", validate.Options{}},
		{"report data", validate.Options{TdQuoteBodyOptions: validate.TdQuoteBodyOptions{ReportData: reportData[:]}}},
		{"MRTD allow-list", validate.Options{TdQuoteBodyOptions: validate.TdQuoteBodyOptions{AnyMrTd: c.mrtd}}},
		{"MRCONFIGID", validate.Options{TdQuoteBodyOptions: validate.TdQuoteBodyOptions{MrConfigID: c.mrConfigID}}},
		{"minimum TEE_TCB_SVN", validate.Options{TdQuoteBodyOptions: validate.TdQuoteBodyOptions{MinimumTeeTcbSvn: c.minimumTEETCBSVN}}},
		{"minimum QE and PCE SVN", validate.Options{HeaderOptions: validate.HeaderOptions{MinimumQeSvn: c.minimumQESVN, MinimumPceSvn: c.minimumPCESVN}}},
	}
	for _, ch := range checks {
		if err := validateQuote(q, &ch.opts); err != nil {
			if ch.name == "report data" {
				return fmt.Errorf("tdx: report data check failed: the quote binds %x, not the expected key and context", body.GetReportData())
			}
			return fmt.Errorf("tdx: %s check failed: %v", ch.name, err)
		}
	}
	if len(c.rtmrs) > 0 {
		matched := false
		for _, set := range c.rtmrs {
			if validateQuote(q, &validate.Options{TdQuoteBodyOptions: validate.TdQuoteBodyOptions{Rtmrs: set}}) == nil {
				matched = true
				break
			}
		}
		if !matched {
			return fmt.Errorf("tdx: RTMR check failed: RTMR0..3 [%s] match none of the %d allowed sets", hexList(body.GetRtmrs()), len(c.rtmrs))
		}
	}
	return nil
}

// validateQuote runs the library's validation, which also checks the fixed
// XFAM and TD_ATTRIBUTES bits, recovering from a panic on malformed input.
func validateQuote(q *pb.QuoteV4, opts *validate.Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("validation failed on malformed input: %v", r)
		}
	}()
	return validate.TdxQuote(q, opts)
}

func (v *Verifier) claims(q *pb.QuoteV4, reportData [64]byte, now time.Time) tee.Claims {
	body := q.GetTdQuoteBody()
	h := q.GetHeader()
	details := map[string]string{
		"mr_config_id":    hex.EncodeToString(body.GetMrConfigId()),
		"mr_owner":        hex.EncodeToString(body.GetMrOwner()),
		"mr_owner_config": hex.EncodeToString(body.GetMrOwnerConfig()),
		"mr_seam":         hex.EncodeToString(body.GetMrSeam()),
		"td_attributes":   hex.EncodeToString(body.GetTdAttributes()),
		"xfam":            hex.EncodeToString(body.GetXfam()),
		"qe_svn":          strconv.Itoa(int(le16(h.GetQeSvn()))),
		"pce_svn":         strconv.Itoa(int(le16(h.GetPceSvn()))),
	}
	for i, r := range body.GetRtmrs() {
		details["rtmr"+strconv.Itoa(i)] = hex.EncodeToString(r)
	}
	switch {
	case v.policy.offline:
		details["collateral"] = "offline: signature and PCK chain only, TCB status NOT checked"
	case v.policy.checkRevocations:
		details["collateral"] = "Intel PCS: TCB UpToDate, CRLs checked"
	default:
		details["collateral"] = "Intel PCS: TCB UpToDate, CRLs not checked"
	}
	attrs := binary.LittleEndian.Uint64(body.GetTdAttributes())
	return tee.Claims{
		Kind:        tee.KindTDX,
		Measurement: bytes.Clone(body.GetMrTd()),
		Debug:       attrs&tdAttributesDebug != 0,
		TCB:         hex.EncodeToString(body.GetTeeTcbSvn()),
		ReportData:  reportData,
		VerifiedAt:  now,
		Details:     details,
	}
}

func le16(b []byte) uint16 {
	if len(b) != 2 {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}
