package snp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/yamlcfg"
)

var goodMeasurement = strings.Repeat("0a", 48)

func TestPolicyValidate(t *testing.T) {
	three, four, minus := 3, 4, -1
	yes := true
	cases := []struct {
		name   string
		policy func(*snp.Policy)
		want   string // "" = valid
	}{
		{name: "minimal"},
		{name: "everything", policy: func(p *snp.Policy) {
			p.HostData = strings.Repeat("AB", 32)
			p.VMPL = &three
			p.Product = "Genoa"
			p.Collateral = snp.Collateral{Offline: true, Bundle: "amd.pem", CacheDir: "/tmp/x", MaxAge: yamlcfg.Duration(time.Hour), CheckRevocations: &yes}
		}},
		{name: "offline without revocation checks needs no bundle", policy: func(p *snp.Policy) {
			no := false
			p.Collateral = snp.Collateral{Offline: true, CheckRevocations: &no}
		}},
		{name: "no measurement", policy: func(p *snp.Policy) { p.Measurements = nil }, want: "sev-snp policy: measurements: at least one"},
		{name: "short measurement", policy: func(p *snp.Policy) { p.Measurements = append(p.Measurements, goodMeasurement[2:]) },
			want: "sev-snp policy: measurements[1]: want 96 hex characters (48 bytes), got 94"},
		{name: "measurement not hex", policy: func(p *snp.Policy) { p.Measurements[0] = "zz" + goodMeasurement[2:] },
			want: "sev-snp policy: measurements[0]: not hexadecimal"},
		{name: "host data length", policy: func(p *snp.Policy) { p.HostData = "abcd" }, want: "sev-snp policy: host_data: want 64 hex characters"},
		{name: "vmpl 4", policy: func(p *snp.Policy) { p.VMPL = &four }, want: "sev-snp policy: vmpl: must be 0, 1, 2 or 3, got 4"},
		{name: "vmpl -1", policy: func(p *snp.Policy) { p.VMPL = &minus }, want: "sev-snp policy: vmpl:"},
		{name: "product", policy: func(p *snp.Policy) { p.Product = "Milan-B1" }, want: `sev-snp policy: product: unknown AMD product line "Milan-B1" (want one of Milan, Genoa, Turin)`},
		{name: "negative max age", policy: func(p *snp.Policy) { p.Collateral.MaxAge = -1 }, want: "sev-snp policy: collateral.max_age"},
		{name: "offline revocations without bundle", policy: func(p *snp.Policy) { p.Collateral.Offline = true },
			want: "sev-snp policy: collateral.check_revocations: offline mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := snp.Policy{Measurements: []string{goodMeasurement}}
			if tc.policy != nil {
				tc.policy(&p)
			}
			err := p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v\nwant %q", err, tc.want)
			}
			if _, nerr := snp.NewVerifier(p, snp.Options{}); tc.want != "" && nerr == nil {
				t.Error("NewVerifier accepted an invalid policy")
			}
		})
	}
}

func TestPolicyValidateReportsAll(t *testing.T) {
	four := 4
	err := snp.Policy{HostData: "x", VMPL: &four}.Validate()
	for _, key := range []string{"measurements:", "host_data:", "vmpl:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%v does not name %s", err, key)
		}
	}
}

func TestPolicyYAML(t *testing.T) {
	doc := `
measurements:
  - ` + goodMeasurement + `
host_data: "` + strings.Repeat("00", 32) + `"
minimum_tcb: {bootloader: 3, tee: 0, snp: 14, microcode: 209}
minimum_guest_svn: 2
vmpl: 0
allow_smt: true
product: Milan
collateral:
  cache_dir: /var/cache/confed/amd
  offline: false
  check_revocations: false
  max_age: 12h
`
	var p snp.Policy
	if _, err := yamlcfg.Decode("policy.yaml", []byte(doc), &p); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := snp.TCB{Bootloader: 3, SNP: 14, Microcode: 209}
	switch {
	case p.MinimumTCB != want || p.MinimumGuestSVN != 2 || p.VMPL == nil || *p.VMPL != 0 || !p.AllowSMT || p.Product != "Milan":
		t.Errorf("decoded %+v", p)
	case p.Collateral.RevocationsChecked() || p.Collateral.MaxAge.Std() != 12*time.Hour || p.Collateral.CacheDir != "/var/cache/confed/amd":
		t.Errorf("decoded collateral %+v", p.Collateral)
	}
	if !(snp.Collateral{}).RevocationsChecked() {
		t.Error("revocations not checked by default")
	}
	if _, err := yamlcfg.Decode("policy.yaml", []byte("measurement: []\n"), &p); err == nil || !strings.Contains(err.Error(), "measurements") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestTCBRoundTrip(t *testing.T) {
	tcb := snp.TCB{Bootloader: 1, TEE: 2, SNP: 3, Microcode: 250}
	if got := snp.TCBFromVersion(tcb.Version()); got != tcb {
		t.Errorf("round trip %v", got)
	}
	if tcb.String() != "bootloader=1 tee=2 snp=3 microcode=250" {
		t.Errorf("String %q", tcb)
	}
}
