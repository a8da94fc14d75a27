package snp_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/snp/snptest"
	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
)

var ctx = context.Background()

// rdFor is report data as confed derives it.
func rdFor(s string) [64]byte { return tee.ReportData("confed/test", []byte(s)) }

func newVerifier(t *testing.T, p snp.Policy, o snp.Options) *snp.Verifier {
	t.Helper()
	v, err := snp.NewVerifier(p, o)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func TestVerifyAccepts(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	rd := rdFor("accept")
	g := f.Guest()
	g.GuestSVN = 7
	g.HostData = [32]byte{0xaa, 0xbb}
	ev, err := f.IssuerFor(g).Issue(ctx, rd)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Policy()
	p.MinimumGuestSVN = 7
	p.HostData = hex.EncodeToString(g.HostData[:])
	p.Measurements = append([]string{strings.Repeat("ab", 48)}, p.Measurements...) // not first in the list
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	o := f.VerifierOptions()
	o.Now = func() time.Time { return at }
	c, err := newVerifier(t, p, o).Verify(ctx, ev, rd)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	tcb := snptest.DefaultTCB.String()
	want := map[string]string{
		"vmpl":         "0",
		"guest_svn":    "7",
		"policy":       "0x30000",
		"host_data":    hex.EncodeToString(g.HostData[:]),
		"chip_id":      hex.EncodeToString(f.HWID[:8]) + "…",
		"product":      "Milan-B1",
		"current_tcb":  tcb,
		"reported_tcb": tcb,
		"launch_tcb":   tcb,
		"signer":       "vcek",
	}
	for k, w := range want {
		if c.Details[k] != w {
			t.Errorf("Details[%q] = %q, want %q", k, c.Details[k], w)
		}
	}
	switch {
	case c.Kind != tee.KindSEVSNP || c.Insecure || c.Debug:
		t.Errorf("kind %q insecure %t debug %t", c.Kind, c.Insecure, c.Debug)
	case !bytes.Equal(c.Measurement, snptest.DefaultMeasurement[:]):
		t.Errorf("measurement %x", c.Measurement)
	case c.ReportData != rd:
		t.Errorf("report data %x", c.ReportData)
	case c.TCB != "bootloader=3 tee=0 snp=14 microcode=209":
		t.Errorf("TCB %q", c.TCB)
	case !c.VerifiedAt.Equal(at):
		t.Errorf("VerifiedAt %v, want %v", c.VerifiedAt, at)
	}
}

// TestVerifyAcceptsVariants: other shapes of genuine evidence.
func TestVerifyAcceptsVariants(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	rd := rdFor("variants")
	cases := []struct {
		name    string
		guest   func(*snptest.Guest)
		policy  func(*snp.Policy)
		product string
		signer  string
	}{
		{name: "VLEK-signed", guest: func(g *snptest.Guest) { g.VLEK = true }, product: "Milan-B1", signer: "vlek"},
		{name: "VLEK-signed, version 2 report", guest: func(g *snptest.Guest) { g.VLEK = true; g.Version = 2 }, product: "Milan", signer: "vlek"},
		{name: "version 2 report (product from the VCEK)", guest: func(g *snptest.Guest) { g.Version = 2 }, product: "Milan-B1", signer: "vcek"},
		{name: "no certificate table (VCEK fetched)", guest: func(g *snptest.Guest) { g.OmitCertTable = true }, product: "Milan-B1", signer: "vcek"},
		{name: "VMPL 1 allowed", guest: func(g *snptest.Guest) { g.VMPL = 1 }, policy: func(p *snp.Policy) { one := 1; p.VMPL = &one }, product: "Milan-B1", signer: "vcek"},
		{name: "no SMT anywhere", guest: func(g *snptest.Guest) { g.Policy = 0x20000; g.PlatformInfo = 0 },
			policy: func(p *snp.Policy) { p.AllowSMT = false }, product: "Milan-B1", signer: "vcek"},
		{name: "revocations not checked", policy: func(p *snp.Policy) { no := false; p.Collateral.CheckRevocations = &no }, product: "Milan-B1", signer: "vcek"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, p := f.Guest(), f.Policy()
			if tc.guest != nil {
				tc.guest(&g)
			}
			if tc.policy != nil {
				tc.policy(&p)
			}
			c, err := newVerifier(t, p, f.VerifierOptions()).Verify(ctx, f.Evidence(t, g, rd), rd)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Details["product"] != tc.product || c.Details["signer"] != tc.signer {
				t.Errorf("product %q signer %q, want %q %q", c.Details["product"], c.Details["signer"], tc.product, tc.signer)
			}
		})
	}
}

// TestVerifyRefuses has one case per refusal; each evidence is genuinely
// signed unless the case is about the signature or the bytes.
func TestVerifyRefuses(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	other := snptest.New(t, snptest.Options{IndependentKeys: true})
	rd := rdFor("refuse")
	valid := f.Evidence(t, f.Guest(), rd).Raw
	otherMeasurement := sha512.Sum384([]byte("another guest"))
	lower := snptest.DefaultTCB
	lower.SNP--
	higher := snptest.DefaultTCB
	higher.Microcode++

	type tcase struct {
		name   string
		guest  func(*snptest.Guest)           // changes the fake guest
		policy func(*snp.Policy)              // changes the verifier's policy
		opts   func(*snp.Options)             // changes the verifier's options
		raw    func() []byte                  // replaces the evidence bytes
		kind   string                         // evidence kind, if not sev-snp
		rd     *[64]byte                      // report data expected, if not rd
		setup  func(*testing.T) (undo func()) // changes the fake key server
		want   []string
	}
	tamper := func(off int) func() []byte {
		return func() []byte { b := bytes.Clone(valid); b[off] ^= 0x01; return b }
	}
	otherRD := rdFor("another connection")
	cases := []tcase{
		{name: "wrong measurement", guest: func(g *snptest.Guest) { g.Measurement = otherMeasurement },
			want: []string{"sev-snp: measurement " + hex.EncodeToString(otherMeasurement[:]) + " not in the allowed list"}},
		{name: "debug guest", guest: func(g *snptest.Guest) { g.Policy |= 1 << 19 },
			want: []string{"sev-snp: debug guest refused"}},
		{name: "report data not bound", rd: &otherRD,
			want: []string{"sev-snp: report data does not bind this connection"}},
		{name: "tampered measurement byte", raw: tamper(0x90),
			want: []string{"sev-snp: report signature does not verify"}},
		{name: "tampered report data byte", raw: tamper(0x50 + 63),
			want: []string{"sev-snp: report signature does not verify"}},
		{name: "tampered CPUID stepping, high bits the parser drops", raw: func() []byte {
			b := bytes.Clone(valid)
			b[0x18A] |= 0x80
			return b
		}, want: []string{"sev-snp: malformed evidence: report byte 0x18a is not in canonical form"}},
		{name: "tampered signature", raw: tamper(0x2A0),
			want: []string{"sev-snp: report signature does not verify"}},
		{name: "signature removed", raw: func() []byte {
			b := bytes.Clone(valid)
			clear(b[0x2A0:abi.ReportSize])
			return b
		}, want: []string{"sev-snp: report signature does not verify"}},
		{name: "wrong root (independent fake AMD)", raw: func() []byte { return other.Evidence(t, other.Guest(), rd).Raw },
			want: []string{"sev-snp: certificate chain:", "could not be verified by any trusted roots"}},
		{name: "wrong root, VCEK fetched from our key server", raw: func() []byte {
			g := other.Guest()
			g.OmitCertTable = true
			return other.Evidence(t, g, rd).Raw
		}, want: []string{"sev-snp:"}},
		{name: "AMD's real roots do not trust the fake", opts: func(o *snp.Options) { o.TrustedRoots = nil },
			want: []string{"sev-snp: certificate chain:"}},
		{name: "certificates expired", opts: func(o *snp.Options) {
			o.Now = func() time.Time { return time.Now().AddDate(30, 0, 0) }
		}, want: []string{"sev-snp: certificate chain:", "expired"}},
		{name: "certificates not yet valid", opts: func(o *snp.Options) {
			o.Now = func() time.Time { return f.CreatedAt.Add(-time.Hour) }
		}, want: []string{"sev-snp: certificate chain:"}},
		{name: "TCB below minimum", policy: func(p *snp.Policy) { p.MinimumTCB.SNP = snptest.DefaultTCB.SNP + 1 },
			want: []string{"sev-snp: TCB below minimum: reported TCB bootloader=3 tee=0 snp=14 microcode=209, minimum_tcb bootloader=3 tee=0 snp=15 microcode=209"}},
		{name: "launch TCB below minimum", guest: func(g *snptest.Guest) { g.LaunchTCB = &lower },
			want: []string{"sev-snp: TCB below minimum: launch TCB"}},
		{name: "reported TCB not the VCEK's", guest: func(g *snptest.Guest) { g.ReportedTCB = &higher },
			want: []string{"sev-snp: report fails validation", "V[CL]EK certificate"}},
		{name: "VMPL other than allowed", guest: func(g *snptest.Guest) { g.VMPL = 2 },
			want: []string{"sev-snp: VMPL 2 not allowed (want 0)"}},
		{name: "guest SVN below minimum", guest: func(g *snptest.Guest) { g.GuestSVN = 4 }, policy: func(p *snp.Policy) { p.MinimumGuestSVN = 5 },
			want: []string{"sev-snp: guest SVN 4 below minimum_guest_svn 5"}},
		{name: "host data mismatch", guest: func(g *snptest.Guest) { g.HostData[0] = 1 },
			policy: func(p *snp.Policy) { p.HostData = strings.Repeat("00", 32) },
			want:   []string{"sev-snp: host data 01000000", "does not match host_data"}},
		{name: "SMT guest policy not allowed", policy: func(p *snp.Policy) { p.AllowSMT = false },
			want: []string{"sev-snp: guest policy 0x30000 allows SMT"}},
		{name: "SMT host not allowed", guest: func(g *snptest.Guest) { g.Policy = 0x20000 }, policy: func(p *snp.Policy) { p.AllowSMT = false },
			want: []string{"sev-snp: host runs with SMT enabled"}},
		{name: "migration agent", guest: func(g *snptest.Guest) { g.Policy |= 1 << 18 },
			want: []string{"sev-snp: guest policy 0x70000 allows a migration agent"}},
		{name: "wrong product", policy: func(p *snp.Policy) { p.Product = "Genoa" },
			want: []string{"sev-snp: product Milan not allowed (want Genoa)"}},
		{name: "wrong product, version 2 report", guest: func(g *snptest.Guest) { g.Version = 2 }, policy: func(p *snp.Policy) { p.Product = "Genoa" },
			want: []string{"sev-snp: certificate chain:", "product"}},
		{name: "CRL unavailable fails closed", setup: func(*testing.T) func() {
			f.KDS.SetCRLUnavailable(true)
			return func() { f.KDS.SetCRLUnavailable(false) }
		}, want: []string{"sev-snp: revocation check:", "unavailable"}},
		{name: "ASK revoked", setup: func(t *testing.T) func() {
			if err := f.RevokeASK(); err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := f.ClearRevocations(); err != nil {
					t.Fatal(err)
				}
			}
		}, want: []string{"sev-snp: certificate chain: revoked"}},
		{name: "VCEK neither in the table nor on the key server", guest: func(g *snptest.Guest) { g.OmitCertTable = true },
			opts: func(o *snp.Options) { o.Getter = other.KDS }, want: []string{"sev-snp: certificate chain:"}},
		{name: "not SEV-SNP evidence", kind: tee.KindSimulated,
			want: []string{`sev-snp: evidence kind "simulated-insecure": this verifier accepts only "sev-snp"`}},
		{name: "oversize evidence", raw: func() []byte { return append(bytes.Clone(valid), make([]byte, snp.MaxEvidenceSize)...) },
			want: []string{"sev-snp: malformed evidence:", "more than the 65536-byte limit"}},
		{name: "empty evidence", raw: func() []byte { return nil },
			want: []string{"sev-snp: malformed evidence: 0 bytes, shorter than an attestation report"}},
		{name: "truncated report", raw: func() []byte { return valid[:abi.ReportSize-1] },
			want: []string{"sev-snp: malformed evidence: 1183 bytes"}},
		{name: "garbage", raw: func() []byte { return bytes.Repeat([]byte{0x5a}, 3000) },
			want: []string{"sev-snp: malformed evidence:"}},
		{name: "garbage certificate table", raw: func() []byte { return append(bytes.Clone(valid[:abi.ReportSize]), bytes.Repeat([]byte{0xff}, 100)...) },
			want: []string{"sev-snp: malformed evidence: certificate table:"}},
		{name: "certificate table entry wrapping around 4 GiB", raw: func() []byte {
			// go-sev-guest v0.15.0 panics on this one (uint32 overflow).
			table := make([]byte, 3*abi.CertTableEntrySize)
			table[0] = 1
			binary.LittleEndian.PutUint32(table[16:], 0xFFFFFF00)
			binary.LittleEndian.PutUint32(table[20:], 0x100)
			return append(bytes.Clone(valid[:abi.ReportSize]), table...)
		}, want: []string{"sev-snp: malformed evidence: certificate table: entry 0"}},
		{name: "unsigned report (signing key none)", guest: func(g *snptest.Guest) {
			g.Modify = func(r *spb.Report) {
				r.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.NoneReportSigner})
			}
		}, want: []string{"sev-snp: certificate chain:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, p, o := f.Guest(), f.Policy(), f.VerifierOptions()
			if tc.guest != nil {
				tc.guest(&g)
			}
			if tc.policy != nil {
				tc.policy(&p)
			}
			if tc.opts != nil {
				tc.opts(&o)
			}
			if tc.setup != nil {
				defer tc.setup(t)()
			}
			ev := tee.Evidence{Kind: tee.KindSEVSNP}
			if tc.kind != "" {
				ev.Kind = tc.kind
			}
			if tc.raw != nil {
				ev.Raw = tc.raw()
			} else {
				ev.Raw = f.Evidence(t, g, rd).Raw
			}
			want := rd
			if tc.rd != nil {
				want = *tc.rd
			}
			c, err := newVerifier(t, p, o).Verify(ctx, ev, want)
			if err == nil {
				t.Fatalf("Verify accepted: %+v", c)
			}
			t.Logf("refused: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if c.Kind != "" || c.Measurement != nil || c.Details != nil {
				t.Errorf("claims returned with the error: %+v", c)
			}
		})
	}
}

// TestVerifyRefusesEveryTamperedByte flips bytes all over the signed part
// of the report and the signature: every third byte (every byte would take
// 20 s under -race: each attempt verifies the certificate chain first), and
// with -short every 29th.
func TestVerifyRefusesEveryTamperedByte(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	rd := rdFor("tamper")
	valid := f.Evidence(t, f.Guest(), rd).Raw
	p := f.Policy()
	no := false
	p.Collateral.CheckRevocations = &no // the chain and signature are what is tested here
	v := newVerifier(t, p, f.VerifierOptions())
	if _, err := v.Verify(ctx, tee.Evidence{Kind: tee.KindSEVSNP, Raw: valid}, rd); err != nil {
		t.Fatalf("untampered evidence refused: %v", err)
	}
	step := 3
	if testing.Short() {
		step = 29
	}
	for off := 0; off < 0x2A0+0x90; off += step {
		b := bytes.Clone(valid)
		b[off] ^= 0x80
		if _, err := v.Verify(ctx, tee.Evidence{Kind: tee.KindSEVSNP, Raw: b}, rd); err == nil {
			t.Errorf("byte 0x%x flipped: accepted", off)
		}
	}
}

func TestVerifyIsRepeatableAndConcurrent(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	v := newVerifier(t, f.Policy(), f.VerifierOptions())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := rdFor(string(rune('a' + i)))
			for range 3 {
				ev, err := f.Issuer().Issue(ctx, rd)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Verify(ctx, ev, rd); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if _, err := v.Verify(ctx, ev, rdFor("other")); err == nil {
					t.Errorf("Verify accepted other report data")
				}
			}
		}()
	}
	wg.Wait()
}

// TestArchivalVerification: an auditor verifies evidence whose VCEK has
// since expired, as of the time it was produced.
func TestArchivalVerification(t *testing.T) {
	produced := time.Date(2015, 3, 1, 12, 0, 0, 0, time.UTC)
	f := snptest.New(t, snptest.Options{CreatedAt: produced.AddDate(0, -1, 0)})
	rd := rdFor("archived")
	ev := f.Evidence(t, f.Guest(), rd)

	o := f.VerifierOptions()
	if _, err := newVerifier(t, f.Policy(), o).Verify(ctx, ev, rd); err == nil || !strings.Contains(err.Error(), "certificate chain") {
		t.Fatalf("verified today (VCEK expired in 2022): %v", err)
	}
	o.Now = func() time.Time { return produced }
	c, err := newVerifier(t, f.Policy(), o).Verify(ctx, ev, rd)
	if err != nil {
		t.Fatalf("archival verification: %v", err)
	}
	if !c.VerifiedAt.Equal(produced) {
		t.Errorf("VerifiedAt %v, want %v", c.VerifiedAt, produced)
	}
}
