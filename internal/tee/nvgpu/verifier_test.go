package nvgpu

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/nvgpu/nvgputest"
)

func TestEvidenceFileMatchesSamples(t *testing.T) {
	b, err := os.ReadFile("testdata/hopper_evidence.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(sampleEvidence(t))+"\n" {
		t.Fatal("testdata/hopper_evidence.json is not Encode of the two sample files")
	}
}

func TestRealSampleVerifies(t *testing.T) {
	for _, at := range []time.Time{sampleTime, time.Now()} {
		r, err := VerifyRaw(sampleEvidence(t), nil, at)
		if err != nil {
			t.Fatalf("as of %s: %v", at, err)
		}
		if hex.EncodeToString(r.Nonce) != sampleNonce || len(r.Measurements) != 64 {
			t.Fatalf("nonce %x, %d measurements", r.Nonce, len(r.Measurements))
		}
		if d := cString(r.Opaque[OpaqueDriverVersion]); d != "550.90.07" {
			t.Fatalf("driver %q", d)
		}
	}
}

func TestRealSampleRefusedUnderOtherRoot(t *testing.T) {
	g, err := nvgputest.NewGPU(sampleTime)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyRaw(sampleEvidence(t), []*x509.Certificate{g.Root}, sampleTime); err == nil || !strings.Contains(err.Error(), "certificate chain") {
		t.Fatalf("err = %v", err)
	}
}

// A one-byte change to the real report, at chosen places and on a stride
// through all of it, either stops it parsing or breaks the signature.
func TestRealSampleTamperFails(t *testing.T) {
	rep := sampleReport(t)
	chain := sampleChain(t)
	named := map[string]int{"request nonce": 10, "measurement 2": 37 + 8 + 60, "responder nonce": len(rep) - 96 - 424 - 20,
		"driver version": strings.Index(string(rep), "550.90"), "signature": len(rep) - 5}
	for name, at := range named {
		if at < 0 {
			t.Fatalf("%s not found", name)
		}
	}
	at := []int{}
	for _, i := range named {
		at = append(at, i)
	}
	for i := 0; i < len(rep); i += 97 { // and a stride through the whole report
		at = append(at, i)
	}
	for _, i := range at {
		b := append([]byte(nil), rep...)
		b[i] ^= 0x01
		ev, _ := Encode(b, chain)
		if _, err := VerifyRaw(ev, nil, sampleTime); err == nil {
			t.Fatalf("byte %d flipped: still verifies", i)
		}
	}
}

func realPolicy(t *testing.T) Policy {
	r, err := VerifyRaw(sampleEvidence(t), nil, sampleTime)
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{}
	for _, m := range r.Measurements[:8] {
		p.Measurements = append(p.Measurements, Reference{m.Index, []string{hex.EncodeToString(m.Value)}})
	}
	return p
}

// The binding code run on real evidence: report data whose first 32 bytes
// are the sample's nonce is accepted, any other is refused.
func TestRealSampleBindingAndReferenceValues(t *testing.T) {
	p := realPolicy(t)
	v, err := NewVerifier(p, Options{Now: func() time.Time { return sampleTime }})
	if err != nil {
		t.Fatal(err)
	}
	var rd [64]byte
	n, _ := hex.DecodeString(sampleNonce)
	copy(rd[:], n)
	ev := tee.Evidence{Kind: tee.KindNVGPU, Raw: sampleEvidence(t)}
	c, err := v.Verify(context.Background(), ev, rd)
	if err != nil {
		t.Fatal(err)
	}
	if c.Details["driver_version"] != "550.90.07" || c.Details["measurements"] != "64" {
		t.Fatalf("claims %+v", c.Details)
	}
	rd[0] ^= 1
	if _, err := v.Verify(context.Background(), ev, rd); err == nil || !strings.Contains(err.Error(), "not bound") {
		t.Fatalf("other report data: err = %v", err)
	}
}

func TestVerifierChecks(t *testing.T) {
	now := time.Now()
	g, err := nvgputest.NewGPU(now)
	if err != nil {
		t.Fatal(err)
	}
	rd := tee.ReportData("test", []byte("conn"))
	var nonce [32]byte
	copy(nonce[:], rd[:32])
	meas := map[int][]byte{1: {1, 1, 1}, 2: {2, 2, 2}, 3: {3, 3, 3}}
	pol := Policy{Measurements: []Reference{{1, []string{"010101"}}, {2, []string{"ffff", "020202"}}}}
	cases := []struct {
		name    string
		pol     Policy
		nonce   [32]byte
		meas    map[int][]byte
		driver  string
		wantErr string
	}{
		{"ok", pol, nonce, meas, "550.90.07", ""},
		{"wrong nonce", pol, [32]byte{1}, meas, "550.90.07", "not bound"},
		{"measurement differs", pol, nonce, map[int][]byte{1: {1, 1, 1}, 2: {9}}, "550.90.07", "measurement 2"},
		{"measurement missing", pol, nonce, map[int][]byte{1: {1, 1, 1}}, "550.90.07", "no measurement 2"},
		{"driver allowed", Policy{Measurements: pol.Measurements, DriverVersions: []string{"550.90.07"}}, nonce, meas, "550.90.07", ""},
		{"driver refused", Policy{Measurements: pol.Measurements, DriverVersions: []string{"560.1"}}, nonce, meas, "535.0", "driver version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := NewVerifier(c.pol, Options{Roots: []*x509.Certificate{g.Root}, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			ev, _ := Encode(g.Report(c.nonce, c.meas, c.driver), g.ChainPEM())
			claims, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindNVGPU, Raw: ev}, rd)
			if c.wantErr == "" {
				if err != nil || claims.Kind != tee.KindNVGPU {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestAttachComposite(t *testing.T) {
	now := time.Now()
	g, _ := nvgputest.NewGPU(now)
	rd := tee.ReportData("test", []byte("conn"))
	var nonce [32]byte
	copy(nonce[:], rd[:32])
	v, err := NewVerifier(Policy{Measurements: []Reference{{1, []string{"01"}}}}, Options{Roots: []*x509.Certificate{g.Root}})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := Encode(g.Report(nonce, map[int][]byte{1: {1}}, "x"), g.ChainPEM())
	cpu := tee.Claims{Kind: tee.KindSEVSNP, ReportData: rd}
	out, err := Attach(context.Background(), cpu, v, [][]byte{ev, ev}, rd)
	if err != nil || len(out.GPU) != 2 || out.Kind != tee.KindSEVSNP || out.GPU[0].Kind != tee.KindNVGPU {
		t.Fatalf("out %+v, err %v", out, err)
	}
	var other [32]byte
	bad, _ := Encode(g.Report(other, map[int][]byte{1: {1}}, "x"), g.ChainPEM())
	if _, err := Attach(context.Background(), cpu, v, [][]byte{ev, bad}, rd); err == nil || !strings.Contains(err.Error(), "GPU 1") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Attach(context.Background(), cpu, v, nil, rd); err == nil || !strings.Contains(err.Error(), "no GPU evidence") {
		t.Fatalf("no GPU evidence: err = %v, want a refusal", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		p       Policy
		wantErr string
	}{
		{Policy{Measurements: []Reference{{1, []string{"00"}}}}, ""},
		{Policy{}, "at least one"},
		{Policy{Measurements: []Reference{{0, []string{"00"}}}}, "index must be"},
		{Policy{Measurements: []Reference{{1, nil}}}, "no allowed values"},
		{Policy{Measurements: []Reference{{1, []string{"zz"}}}}, "measurements[1][0]"},
		{Policy{Measurements: []Reference{{1, []string{"00"}}, {1, []string{"01"}}}}, "listed twice"},
		{Policy{Measurements: []Reference{{1, []string{"00"}}}, DriverVersions: []string{""}}, "driver_versions[0]"},
	}
	for i, c := range cases {
		err := c.p.Validate()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("case %d: err = %v, want %q", i, err, c.wantErr)
		}
	}
}

func TestEmbeddedRoot(t *testing.T) {
	r, err := DeviceRoot()
	if err != nil {
		t.Fatal(err)
	}
	chain, err := parseChain([]byte(sampleChain(t)))
	if err != nil {
		t.Fatal(err)
	}
	if !chain[len(chain)-1].Equal(r) || r.Subject.CommonName != "NVIDIA Device Identity CA" {
		t.Fatal("embedded root is not the sample chain's root")
	}
}
