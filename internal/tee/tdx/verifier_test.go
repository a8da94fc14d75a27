package tdx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"testing"
	"time"

	pb "github.com/google/go-tdx-guest/proto/tdx"
	"github.com/google/go-tdx-guest/testing/testdata"
	"github.com/google/go-tdx-guest/validate"
	"github.com/google/go-tdx-guest/verify"

	"github.com/confed/confed/internal/tee"
)

func TestVerifySampleQuoteOffline(t *testing.T) {
	v, err := NewVerifier(offlinePolicy(), Options{Now: fixedNow(sampleNow)})
	if err != nil {
		t.Fatal(err)
	}
	rd := sampleRD(t)
	c, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindTDX, Raw: testdata.RawQuote}, rd)
	if err != nil {
		t.Fatalf("sample quote refused: %v", err)
	}
	if c.Kind != tee.KindTDX || c.Insecure || c.Debug {
		t.Errorf("claims kind=%q insecure=%v debug=%v", c.Kind, c.Insecure, c.Debug)
	}
	if got := hex.EncodeToString(c.Measurement); got != sampleMRTD {
		t.Errorf("measurement %s, want MRTD %s", got, sampleMRTD)
	}
	if c.TCB != sampleTEETCBSVN {
		t.Errorf("TCB %s, want %s", c.TCB, sampleTEETCBSVN)
	}
	if c.ReportData != rd || !c.VerifiedAt.Equal(sampleNow) {
		t.Errorf("report data or time wrong: %x %v", c.ReportData, c.VerifiedAt)
	}
	want := map[string]string{
		"rtmr0":         sampleRTMRs[0],
		"rtmr1":         sampleRTMRs[1],
		"rtmr2":         sampleRTMRs[2],
		"rtmr3":         sampleRTMRs[3],
		"mr_config_id":  zero48,
		"mr_owner":      zero48,
		"td_attributes": "0000004000000000",
		"xfam":          "e71a060000000000",
		"qe_svn":        "0",
		"pce_svn":       "0",
	}
	for k, w := range want {
		if got := c.Details[k]; got != w {
			t.Errorf("Details[%q] = %q, want %q", k, got, w)
		}
	}
	if got := c.Details["collateral"]; !bytes.Contains([]byte(got), []byte("NOT checked")) {
		t.Errorf("offline claims must say the TCB status was not checked, got %q", got)
	}
}

// TestVerify runs whole verifications of the sample quote: each case
// changes the policy, the expected report data, the evidence or the clock.
func TestVerify(t *testing.T) {
	rd := sampleRD(t)
	otherRD := tee.ReportData(tee.LabelSigningKey, []byte("federation"), []byte("other key"))
	good := tee.Evidence{Kind: tee.KindTDX, Raw: testdata.RawQuote}
	with := func(f func(*Policy)) Policy {
		p := offlinePolicy()
		f(&p)
		return p
	}
	tests := []struct {
		name    string
		policy  Policy
		ev      tee.Evidence
		rd      [64]byte
		now     time.Time
		roots   *x509.CertPool
		wantErr string
	}{
		{name: "sample", policy: offlinePolicy(), ev: good, rd: rd},
		{name: "every policy field matching", ev: good, rd: rd, policy: with(func(p *Policy) {
			p.MRTD = []string{other48, sampleMRTD}
			p.RTMRs = [][]string{{other48, other48, other48, other48}, sampleRTMRs}
			p.MRConfigID = zero48
			p.MinimumTEETCBSVN = sampleTEETCBSVN
		})},
		{name: "report data mismatch", policy: offlinePolicy(), ev: good, rd: otherRD, wantErr: "tdx: report data check failed"},
		{name: "MRTD not allowed", ev: good, rd: rd, policy: with(func(p *Policy) { p.MRTD = []string{other48} }), wantErr: "tdx: MRTD allow-list check failed"},
		{name: "RTMRs not allowed", ev: good, rd: rd, policy: with(func(p *Policy) {
			p.RTMRs = [][]string{{sampleRTMRs[0], sampleRTMRs[1], sampleRTMRs[2], other48}}
		}), wantErr: "tdx: RTMR check failed"},
		{name: "MRCONFIGID mismatch", ev: good, rd: rd, policy: with(func(p *Policy) { p.MRConfigID = other48 }), wantErr: "tdx: MRCONFIGID check failed"},
		{name: "TEE TCB SVN too low", ev: good, rd: rd, policy: with(func(p *Policy) { p.MinimumTEETCBSVN = "03000500000000000000000000000000" }), wantErr: "tdx: minimum TEE_TCB_SVN check failed"},
		{name: "QE SVN too low", ev: good, rd: rd, policy: with(func(p *Policy) { p.MinimumQESVN = 1 }), wantErr: "tdx: minimum QE and PCE SVN check failed"},
		{name: "PCE SVN too low", ev: good, rd: rd, policy: with(func(p *Policy) { p.MinimumPCESVN = 1 }), wantErr: "tdx: minimum QE and PCE SVN check failed"},
		{name: "wrong kind", policy: offlinePolicy(), ev: tee.Evidence{Kind: tee.KindSEVSNP, Raw: testdata.RawQuote}, rd: rd, wantErr: "accepts only"},
		{name: "empty", policy: offlinePolicy(), ev: tee.Evidence{Kind: tee.KindTDX}, rd: rd, wantErr: "tdx: malformed quote: empty"},
		{name: "oversized", policy: offlinePolicy(), ev: tee.Evidence{Kind: tee.KindTDX, Raw: make([]byte, MaxQuoteSize+1)}, rd: rd, wantErr: "more than the"},
		{name: "truncated", policy: offlinePolicy(), ev: tee.Evidence{Kind: tee.KindTDX, Raw: testdata.RawQuote[:2000]}, rd: rd, wantErr: "tdx: malformed quote"},
		{name: "PCK leaf expired", policy: offlinePolicy(), ev: good, rd: rd, now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), wantErr: "tdx: quote verification failed"},
		{name: "before PCK leaf validity", policy: offlinePolicy(), ev: good, rd: rd, now: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), wantErr: "tdx: quote verification failed"},
		{name: "untrusted root", policy: offlinePolicy(), ev: good, rd: rd, roots: otherRoot(t), wantErr: "tdx: quote verification failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = sampleNow
			}
			v, err := NewVerifier(tt.policy, Options{Now: fixedNow(now), TrustedRoots: tt.roots})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), tt.ev, tt.rd)
			mustContain(t, err, tt.wantErr)
		})
	}
}

// otherRoot is a pool with a self-signed CA that did not sign the sample.
func otherRoot(t *testing.T) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Intel SGX Root CA"},
		NotBefore:             time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2049, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TestTamperedQuoteFails flips one bit at a time in the signed part of the
// sample quote (every byte of the header and TD quote body, every 7th byte
// after that) and checks that each copy is refused, at parsing or at
// verification. (The bytes after the signed data, which the sample carries
// "for testing purpose", are not covered by any signature: the library
// ignores them and so does confed; nothing is read from them.)
func TestTamperedQuoteFails(t *testing.T) {
	v, err := NewVerifier(offlinePolicy(), Options{Now: fixedNow(sampleNow)})
	if err != nil {
		t.Fatal(err)
	}
	rd := sampleRD(t)
	raw := testdata.RawQuote
	const headerAndBody = 0x30 + 0x248
	signedEnd := headerAndBody + 4 + int(binary.LittleEndian.Uint32(raw[headerAndBody:]))
	for i := 0; i < signedEnd; i++ {
		if i >= headerAndBody && i%7 != 0 {
			continue
		}
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		if _, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindTDX, Raw: b}, rd); err == nil {
			t.Errorf("quote with bit 0 of byte %d (0x%x) flipped was accepted", i, i)
		}
	}
}

// TestPolicyCheck validates the parsed sample quote, some of it modified,
// against policies. It calls the validation step alone: a modified quote
// no longer verifies (its signature covers every field checked here; see
// TestTamperedQuoteFails), so this is how the policy checks are reached
// with values that no genuine sample quote has.
func TestPolicyCheck(t *testing.T) {
	rd := sampleRD(t)
	tests := []struct {
		name    string
		policy  func(*Policy)
		quote   func(q *quoteFields)
		rd      *[64]byte
		wantErr string
	}{
		{name: "sample matches"},
		{name: "debug bit set", quote: func(q *quoteFields) { q.tdAttributes[0] |= 0x01 }, wantErr: "tdx: debug TD refused"},
		{name: "debug bit refused even when everything else matches", policy: func(p *Policy) {
			p.RTMRs = [][]string{sampleRTMRs}
			p.MRConfigID = zero48
		}, quote: func(q *quoteFields) { q.tdAttributes[0] |= 0x01 }, wantErr: "tdx: debug TD refused"},
		{name: "other report data", rd: &[64]byte{1}, wantErr: "tdx: report data check failed"},
		{name: "MRTD listed", policy: func(p *Policy) { p.MRTD = []string{other48, zero48, sampleMRTD} }},
		{name: "MRTD changed", quote: func(q *quoteFields) { q.mrtd[0] ^= 0xff }, wantErr: "tdx: MRTD allow-list check failed"},
		{name: "RTMRs match the second set", policy: func(p *Policy) {
			p.RTMRs = [][]string{{zero48, zero48, zero48, zero48}, sampleRTMRs}
		}},
		{name: "RTMR2 changed", policy: func(p *Policy) { p.RTMRs = [][]string{sampleRTMRs} }, quote: func(q *quoteFields) { q.rtmrs[2][5] ^= 0x01 }, wantErr: "tdx: RTMR check failed"},
		{name: "MRCONFIGID matches", policy: func(p *Policy) { p.MRConfigID = zero48 }},
		{name: "MRCONFIGID changed", policy: func(p *Policy) { p.MRConfigID = zero48 }, quote: func(q *quoteFields) { q.mrConfigID[47] = 1 }, wantErr: "tdx: MRCONFIGID check failed"},
		{name: "TEE TCB SVN equal to minimum", policy: func(p *Policy) { p.MinimumTEETCBSVN = sampleTEETCBSVN }},
		{name: "TEE TCB SVN above minimum", policy: func(p *Policy) { p.MinimumTEETCBSVN = "02000300000000000000000000000000" }},
		{name: "TEE TCB SVN below minimum in one component", policy: func(p *Policy) { p.MinimumTEETCBSVN = "03000400000000000000000000000001" }, wantErr: "tdx: minimum TEE_TCB_SVN check failed"},
		{name: "TEE TCB SVN lowered", policy: func(p *Policy) { p.MinimumTEETCBSVN = sampleTEETCBSVN }, quote: func(q *quoteFields) { q.teeTCBSVN[0] = 2 }, wantErr: "tdx: minimum TEE_TCB_SVN check failed"},
		{name: "QE SVN at minimum", policy: func(p *Policy) { p.MinimumQESVN = 7 }, quote: func(q *quoteFields) { q.qeSVN[0] = 7 }},
		{name: "QE SVN below minimum", policy: func(p *Policy) { p.MinimumQESVN = 8 }, quote: func(q *quoteFields) { q.qeSVN[0] = 7 }, wantErr: "tdx: minimum QE and PCE SVN check failed"},
		{name: "PCE SVN below minimum", policy: func(p *Policy) { p.MinimumPCESVN = 0x0101 }, quote: func(q *quoteFields) { q.pceSVN[0], q.pceSVN[1] = 0xff, 0x00 }, wantErr: "tdx: minimum QE and PCE SVN check failed"},
		{name: "unsupported TD attribute", quote: func(q *quoteFields) { q.tdAttributes[1] |= 0x01 }, wantErr: "tdx: XFAM and TD_ATTRIBUTES fixed bits check failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := offlinePolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			c, err := p.compile(nil, "")
			if err != nil {
				t.Fatal(err)
			}
			q := sampleQuote(t)
			if tt.quote != nil {
				b, h := q.GetTdQuoteBody(), q.GetHeader()
				tt.quote(&quoteFields{
					tdAttributes: b.TdAttributes, mrtd: b.MrTd, rtmrs: b.Rtmrs, mrConfigID: b.MrConfigId,
					teeTCBSVN: b.TeeTcbSvn, qeSVN: h.QeSvn, pceSVN: h.PceSvn,
				})
			}
			want := rd
			if tt.rd != nil {
				want = *tt.rd
			}
			mustContain(t, c.check(q, want), tt.wantErr)
		})
	}
}

// quoteFields are the byte slices of a parsed quote that tests modify in
// place.
type quoteFields struct {
	tdAttributes, mrtd, mrConfigID, teeTCBSVN, qeSVN, pceSVN []byte
	rtmrs                                                    [][]byte
}

// TestDebugQuoteNeverVerifies checks the same debug quote through Verify:
// with the bit flipped the signature no longer holds, so Verify refuses it
// at verification, before the policy is consulted.
func TestDebugQuoteNeverVerifies(t *testing.T) {
	v, err := NewVerifier(offlinePolicy(), Options{Now: fixedNow(sampleNow)})
	if err != nil {
		t.Fatal(err)
	}
	raw := bytes.Clone(testdata.RawQuote)
	raw[0x30+0x78] |= 0x01 // TD_ATTRIBUTES, byte 0
	_, err = v.Verify(context.Background(), tee.Evidence{Kind: tee.KindTDX, Raw: raw}, sampleRD(t))
	mustContain(t, err, "tdx: quote verification failed")
}

func TestEmbeddedRootIsTheSampleChainRoot(t *testing.T) {
	root, err := intelRoot()
	if err != nil {
		t.Fatal(err)
	}
	chain, err := verify.ExtractChainFromQuote(sampleQuote(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root.Raw, chain.RootCertificate.Raw) {
		t.Fatal("the embedded Intel SGX Root CA differs from the root in the sample quote's PCK chain")
	}
	sum := sha256.Sum256(root.Raw)
	if hex.EncodeToString(sum[:]) != IntelSGXRootCAFingerprint {
		t.Fatalf("fingerprint %x", sum)
	}
}

func TestVerifierConcurrentUse(t *testing.T) {
	v, err := NewVerifier(offlinePolicy(), Options{Now: fixedNow(sampleNow)})
	if err != nil {
		t.Fatal(err)
	}
	rd := sampleRD(t)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindTDX, Raw: testdata.RawQuote}, rd)
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestLibraryValidateAcceptsDebugTD documents why the DEBUG bit is checked
// here: go-tdx-guest's validate.TdxQuote, given every measurement the quote
// has, accepts a quote whose TD_ATTRIBUTES has the DEBUG bit set.
func TestLibraryValidateAcceptsDebugTD(t *testing.T) {
	q := sampleQuote(t)
	q.GetTdQuoteBody().TdAttributes[0] |= tdAttributesDebug
	b := q.GetTdQuoteBody()
	rd := sampleRD(t)
	err := validate.TdxQuote(q, &validate.Options{TdQuoteBodyOptions: validate.TdQuoteBodyOptions{
		ReportData: rd[:], MrTd: b.GetMrTd(), Rtmrs: b.GetRtmrs(), MrConfigID: b.GetMrConfigId(),
	}})
	if err != nil {
		t.Skipf("go-tdx-guest now refuses debug TDs itself (%v); the check here is still kept", err)
	}
	c, err := offlinePolicy().compile(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, c.check(q, rd), "tdx: debug TD refused")
}

func TestCheckQEIdentity(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(qe *pb.EnclaveReport)
		wantErr string
	}{
		{name: "Intel TD QE"},
		{name: "other signer", modify: func(qe *pb.EnclaveReport) { qe.MrSigner[0] ^= 1 }, wantErr: "not Intel's TD QE"},
		{name: "SGX QE instead of TD QE", modify: func(qe *pb.EnclaveReport) { qe.IsvProdId = 1 }, wantErr: "ISVPRODID 1"},
		{name: "debug QE", modify: func(qe *pb.EnclaveReport) { qe.Attributes[0] |= sgxAttributesDebug }, wantErr: "debug mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := sampleQuote(t)
			if tt.modify != nil {
				tt.modify(q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetQeReport())
			}
			mustContain(t, checkQEIdentity(q), tt.wantErr)
		})
	}
}
