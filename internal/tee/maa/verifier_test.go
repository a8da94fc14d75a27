package maa

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/maa/maatest"
)

const (
	sampleIssuer    = "https://sharedeus.eus.attest.azure.net"
	sampleMREnclave = "f56735aa42563627a832e0c7ba9911382eb68afed75830b3f97266f3e67bdc99"
	sampleMRSigner  = "a595c6c5805da0c9c4cb920334d354aeaee2207e479dff679d5f360375f557dd"
)

// sampleTime is the real token's iat; it expired 8 hours later.
var sampleTime = time.Unix(1695737747, 0).UTC()

func sampleToken(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/sgx_token.jwt")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleKeys(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/sharedeus_certs.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleReportData is the real token's x-ms-sgx-report-data: SHA-256 of
// its enclave-held data, zero-padded.
func sampleReportData(t *testing.T) [64]byte {
	var rd [64]byte
	b, _ := hex.DecodeString("94ba44f399b9c4adc830d78c67f4914cbbc3a3838f796d2e7666594754c067d9")
	copy(rd[:], b)
	return rd
}

func sgxPolicy() Policy {
	return Policy{AttestationType: TypeSGX, Issuer: sampleIssuer, KeyBundle: "testdata/sharedeus_certs.json",
		MREnclaves: []string{sampleMREnclave}, MRSigners: []string{sampleMRSigner}}
}

func at(tm time.Time) func() time.Time { return func() time.Time { return tm } }

func TestRealTokenSignatureVerifies(t *testing.T) {
	keys, err := ParseKeySet(sampleKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := VerifyToken(sampleToken(t), keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkEHDConsistent(claimSet(tok.Claims)); err != nil {
		t.Fatalf("the real token's report data is not SHA-256 of its EHD: %v", err)
	}
}

// The real token through the whole verifier, as of its issue time, bound
// by its report-data claim.
func TestRealTokenThroughVerifier(t *testing.T) {
	p := sgxPolicy()
	p.Binding = BindReportData
	one := uint64(1)
	p.ProductID, p.MinimumSVN = &one, 1
	v, err := NewVerifier(p, Options{Now: at(sampleTime)})
	if err != nil {
		t.Fatal(err)
	}
	ev := tee.Evidence{Kind: tee.KindMAA, Raw: sampleToken(t)}
	c, err := v.Verify(context.Background(), ev, sampleReportData(t))
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(c.Measurement) != sampleMREnclave || c.Details["mrsigner"] != sampleMRSigner {
		t.Fatalf("claims %+v", c)
	}
	cases := []struct {
		name    string
		mod     func(*Policy)
		now     time.Time
		rd      [64]byte
		wantErr string
	}{
		{"expired today", nil, time.Now(), sampleReportData(t), "expired"},
		{"before nbf", nil, sampleTime.Add(-time.Hour), sampleReportData(t), "not valid before"},
		{"within skew after exp", nil, sampleTime.Add(8*time.Hour + 4*time.Minute), sampleReportData(t), ""},
		{"other connection", nil, sampleTime, tee.ReportData("x"), "not bound"},
		{"runtime-data binding", func(p *Policy) { p.Binding = BindRuntimeData }, sampleTime, sampleReportData(t), "enclave-held data"},
		{"other issuer", func(p *Policy) { p.Issuer = "https://other.eus.attest.azure.net" }, sampleTime, sampleReportData(t), "issuer"},
		{"other mrenclave", func(p *Policy) { p.MREnclaves = []string{strings.Repeat("00", 32)} }, sampleTime, sampleReportData(t), "MRENCLAVE"},
		{"mrsigner only", func(p *Policy) { p.MREnclaves = nil }, sampleTime, sampleReportData(t), ""},
		{"other mrsigner", func(p *Policy) { p.MRSigners = []string{strings.Repeat("11", 32)} }, sampleTime, sampleReportData(t), "MRSIGNER"},
		{"product id", func(p *Policy) { two := uint64(2); p.ProductID = &two }, sampleTime, sampleReportData(t), "product ID"},
		{"svn", func(p *Policy) { p.MinimumSVN = 2 }, sampleTime, sampleReportData(t), "SVN 1"},
		{"type", func(p *Policy) {
			p.AttestationType, p.MREnclaves, p.MRSigners, p.ProductID = TypeSEVSNP, nil, nil, nil
			p.LaunchMeasurements = []string{strings.Repeat("00", 48)}
		}, sampleTime, sampleReportData(t), "attestation type \"sgx\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := p
			if c.mod != nil {
				c.mod(&q)
			}
			v, err := NewVerifier(q, Options{Now: at(c.now)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), ev, c.rd)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
}

// A one-byte change in the real token makes it fail: every byte of the
// header, then every 17th (each base64url character carries 6 bits of the
// signed text or the signature).
func TestRealTokenTamperFails(t *testing.T) {
	keys, err := ParseKeySet(sampleKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(strings.TrimSpace(string(sampleToken(t))))
	header := strings.IndexByte(string(raw), '.')
	for i := range raw {
		if i > header && i%17 != 0 && i != len(raw)-1 {
			continue
		}
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		if _, err := VerifyToken(b, keys); err == nil {
			t.Fatalf("byte %d flipped (%q→%q): still verifies", i, raw[i], b[i])
		}
	}
}

func TestGeneratedSNPToken(t *testing.T) {
	prov, err := maatest.New(2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "certs.json")
	os.WriteFile(bundle, prov.JWKS(), 0o600)
	now := time.Now()
	rd := tee.ReportData("test", []byte("conn"))
	meas := strings.Repeat("ab", 48)
	pol := Policy{AttestationType: TypeSEVSNP, Issuer: maatest.Issuer, KeyBundle: bundle, LaunchMeasurements: []string{meas}}
	mk := func(mod func(map[string]any)) tee.Evidence {
		c := maatest.SNPClaims(rd[:], now, meas)
		if mod != nil {
			mod(c["x-ms-isolation-tee"].(map[string]any))
		}
		return tee.Evidence{Kind: tee.KindMAA, Raw: []byte(prov.Token(c))}
	}
	cases := []struct {
		name    string
		pol     func(*Policy)
		ev      tee.Evidence
		rd      [64]byte
		wantErr string
	}{
		{"ok", nil, mk(nil), rd, ""},
		{"runtime-data binding", func(p *Policy) { p.Binding = BindRuntimeData }, mk(nil), rd, ""},
		{"other connection", nil, mk(nil), tee.ReportData("other"), "not bound"},
		{"runtime-data other connection", func(p *Policy) { p.Binding = BindRuntimeData }, mk(nil), tee.ReportData("other"), "not bound"},
		{"debuggable", nil, mk(func(m map[string]any) { m["x-ms-sevsnpvm-is-debuggable"] = true }), rd, "debuggable"},
		{"not compliant", nil, mk(func(m map[string]any) { m["x-ms-compliance-status"] = "" }), rd, "compliance"},
		{"compliance waived", func(p *Policy) { f := false; p.RequireCompliance = &f }, mk(func(m map[string]any) { m["x-ms-compliance-status"] = "" }), rd, ""},
		{"measurement", nil, mk(func(m map[string]any) { m["x-ms-sevsnpvm-launchmeasurement"] = strings.Repeat("cd", 48) }), rd, "launch measurement"},
		{"guest svn", func(p *Policy) { p.MinimumGuestSVN = 8 }, mk(nil), rd, "guest SVN 7"},
		{"missing debuggable claim", nil, mk(func(m map[string]any) { delete(m, "x-ms-sevsnpvm-is-debuggable") }), rd, "is-debuggable is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := pol
			if c.pol != nil {
				c.pol(&q)
			}
			v, err := NewVerifier(q, Options{})
			if err != nil {
				t.Fatal(err)
			}
			claims, err := v.Verify(context.Background(), c.ev, c.rd)
			if c.wantErr == "" {
				if err != nil || hex.EncodeToString(claims.Measurement) != meas {
					t.Fatalf("err = %v, claims %+v", err, claims)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestKeysFetchedOnlyWhenAllowedAndCached(t *testing.T) {
	prov, _ := maatest.New(2048)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(prov.JWKS())
	}))
	defer srv.Close()
	rd := tee.ReportData("test", []byte("conn"))
	ehd := rd[:]
	mre, mrs := strings.Repeat("01", 32), strings.Repeat("02", 32)
	ev := tee.Evidence{Kind: tee.KindMAA, Raw: []byte(prov.Token(maatest.SGXClaims(ehd, time.Now(), mre, mrs)))}
	pol := Policy{AttestationType: TypeSGX, Issuer: maatest.Issuer, FetchKeys: true, MREnclaves: []string{mre}}
	v, err := NewVerifier(pol, Options{CertsURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := v.Verify(context.Background(), ev, rd); err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d fetches, want 1 (cached)", hits.Load())
	}
	// Offline (no fetch, no bundle entry): refused, naming the kid.
	dir := t.TempDir()
	other, _ := maatest.New(2048)
	os.WriteFile(filepath.Join(dir, "b.json"), other.JWKS(), 0o600)
	pol.FetchKeys, pol.KeyBundle = false, filepath.Join(dir, "b.json")
	v, _ = NewVerifier(pol, Options{CertsURL: srv.URL})
	if _, err := v.Verify(context.Background(), ev, rd); err == nil || !strings.Contains(err.Error(), "fetching is off") {
		t.Fatalf("err = %v", err)
	}
	if hits.Load() != 1 {
		t.Fatal("fetched although fetch_keys is false")
	}
}

func TestShortKeyRefused(t *testing.T) {
	prov, _ := maatest.New(1024)
	keys, _ := ParseKeySet(prov.JWKS())
	rd := tee.ReportData("x")
	tok := prov.Token(maatest.SGXClaims(rd[:], time.Now(), strings.Repeat("01", 32), strings.Repeat("02", 32)))
	if _, err := VerifyToken([]byte(tok), keys); err == nil || !strings.Contains(err.Error(), "1024 bits") {
		t.Fatalf("err = %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	ok := sgxPolicy()
	cases := []struct {
		name    string
		mod     func(*Policy)
		wantErr string
	}{
		{"ok", func(*Policy) {}, ""},
		{"http issuer", func(p *Policy) { p.Issuer = "http://x.attest.azure.net" }, "issuer"},
		{"no keys", func(p *Policy) { p.KeyBundle = "" }, "key_bundle"},
		{"fetch only", func(p *Policy) { p.KeyBundle, p.FetchKeys = "", true }, ""},
		{"type", func(p *Policy) { p.AttestationType = "tdx" }, "attestation_type"},
		{"no identity", func(p *Policy) { p.MREnclaves, p.MRSigners = nil, nil }, "mrenclaves"},
		{"bad mrenclave", func(p *Policy) { p.MREnclaves = []string{"abc"} }, "mrenclaves[0]"},
		{"skew", func(p *Policy) { p.ClockSkew = 2 * 3600e9 }, "clock_skew"},
		{"binding", func(p *Policy) { p.Binding = "x" }, "binding"},
		{"snp without measurement", func(p *Policy) { p.AttestationType, p.MREnclaves, p.MRSigners = TypeSEVSNP, nil, nil }, "launch_measurements"},
		{"snp with sgx keys", func(p *Policy) {
			p.AttestationType = TypeSEVSNP
			p.LaunchMeasurements = []string{strings.Repeat("00", 48)}
		}, "do not apply"},
	}
	for _, c := range cases {
		p := ok
		c.mod(&p)
		err := p.Validate()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
		}
	}
}

func TestNumberClaimsMustBeIntegers(t *testing.T) {
	for _, n := range []string{"1.5", "-1", "1e3"} {
		c := claimSet{"x": json.Number(n)}
		if _, err := c.uint("x"); err == nil {
			t.Errorf("%s accepted as an integer", n)
		}
	}
}
