package tdx

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/confed/confed/internal/yamlcfg"
)

func TestPolicyValidate(t *testing.T) {
	with := func(f func(*Policy)) Policy {
		p := Policy{MRTD: []string{sampleMRTD}}
		f(&p)
		return p
	}
	tests := []struct {
		name    string
		policy  Policy
		wantErr []string // every one must appear
	}{
		{name: "minimal", policy: with(func(*Policy) {})},
		{name: "full", policy: with(func(p *Policy) {
			p.RTMRs = [][]string{sampleRTMRs}
			p.MRConfigID = strings.ToUpper(zero48)
			p.MinimumTEETCBSVN = sampleTEETCBSVN
			p.MinimumQESVN, p.MinimumPCESVN = 8, 13
			p.Collateral = CollateralPolicy{CacheDir: "/var/cache/confed", CheckRevocations: true, MaxAge: yamlcfg.Duration(12 * time.Hour)}
		})},
		{name: "offline", policy: with(func(p *Policy) { p.Collateral.Offline = true })},
		{name: "no MRTD", policy: Policy{}, wantErr: []string{"mrtd: missing"}},
		{name: "short MRTD", policy: with(func(p *Policy) { p.MRTD = append(p.MRTD, "abcd") }), wantErr: []string{"mrtd[1]: must be 96 hex digits (48 bytes), got 4 characters"}},
		{name: "MRTD not hex", policy: with(func(p *Policy) { p.MRTD[0] = "zz" + sampleMRTD[2:] }), wantErr: []string{"mrtd[0]: must be 96 hex digits"}},
		{name: "three RTMRs", policy: with(func(p *Policy) { p.RTMRs = [][]string{sampleRTMRs[:3]} }), wantErr: []string{"rtmrs[0]: must list exactly 4 registers"}},
		{name: "bad RTMR", policy: with(func(p *Policy) { p.RTMRs = [][]string{sampleRTMRs, {zero48, zero48, "x", zero48}} }), wantErr: []string{"rtmrs[1][2]: must be 96 hex digits"}},
		{name: "bad MRCONFIGID", policy: with(func(p *Policy) { p.MRConfigID = sampleTEETCBSVN }), wantErr: []string{"mr_config_id: must be 96 hex digits"}},
		{name: "bad TEE TCB SVN", policy: with(func(p *Policy) { p.MinimumTEETCBSVN = zero48 }), wantErr: []string{"minimum_tee_tcb_svn: must be 32 hex digits (16 bytes)"}},
		{name: "offline with revocations", policy: with(func(p *Policy) { p.Collateral = CollateralPolicy{Offline: true, CheckRevocations: true} }), wantErr: []string{"collateral.check_revocations: cannot be true"}},
		{name: "offline with cache", policy: with(func(p *Policy) { p.Collateral = CollateralPolicy{Offline: true, CacheDir: "/tmp/x"} }), wantErr: []string{"collateral.cache_dir: is set but"}},
		{name: "negative max age", policy: with(func(p *Policy) { p.Collateral.MaxAge = yamlcfg.Duration(-time.Second) }), wantErr: []string{"collateral.max_age: must not be negative"}},
		{name: "huge max age", policy: with(func(p *Policy) { p.Collateral.MaxAge = yamlcfg.Duration(30 * 24 * time.Hour) }), wantErr: []string{"collateral.max_age: must be at most 168h"}},
		{name: "all problems reported", policy: Policy{MRConfigID: "x", MinimumTEETCBSVN: "y"}, wantErr: []string{"mrtd: missing", "mr_config_id:", "minimum_tee_tcb_svn:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, verr := NewVerifier(tt.policy, Options{}); verr == nil {
				t.Error("NewVerifier accepted an invalid policy")
			}
		})
	}
}

func TestPolicyDefaultMaxAge(t *testing.T) {
	c, err := Policy{MRTD: []string{sampleMRTD}}.compile(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.maxAge != DefaultCollateralMaxAge {
		t.Fatalf("max age %v, want %v", c.maxAge, DefaultCollateralMaxAge)
	}
}

// TestPolicyYAML decodes a policy with the config decoder and checks that
// errors name the file, line and full key.
func TestPolicyYAML(t *testing.T) {
	doc := `tdx:
  mrtd:
    - ` + sampleMRTD + `
    - abc
  rtmrs:
    - [` + strings.Join(sampleRTMRs, ", ") + `]
  minimum_qe_svn: 8
  collateral:
    check_revocations: true
    max_age: 2h
`
	var cfg struct {
		TDX Policy `yaml:"tdx"`
	}
	l, err := yamlcfg.Decode("coordinator.yaml", []byte(doc), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TDX.MinimumQESVN != 8 || !cfg.TDX.Collateral.CheckRevocations || cfg.TDX.Collateral.MaxAge.Std() != 2*time.Hour || len(cfg.TDX.RTMRs[0]) != 4 {
		t.Fatalf("decoded %+v", cfg.TDX)
	}
	err = cfg.TDX.ValidateAt(l, "tdx")
	mustContain(t, err, "coordinator.yaml:4: tdx.mrtd[1]: must be 96 hex digits")

	// The struct also round-trips through plain YAML.
	out, err := yaml.Marshal(cfg.TDX)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"mrtd:", "rtmrs:", "mr_config_id:", "minimum_tee_tcb_svn:", "minimum_qe_svn:", "minimum_pce_svn:", "collateral:", "cache_dir:", "offline:", "check_revocations:", "max_age: 2h"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("marshalled policy lacks %q:\n%s", key, out)
		}
	}
}
