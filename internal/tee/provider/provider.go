// Package provider chooses and configures the TEE implementation that a
// configuration names: which evidence a daemon issues, and against which
// policy it verifies a peer's evidence.
package provider

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/cca"
	"github.com/confed/confed/internal/tee/maa"
	"github.com/confed/confed/internal/tee/nitro"
	"github.com/confed/confed/internal/tee/nvgpu"
	"github.com/confed/confed/internal/tee/sgx"
	"github.com/confed/confed/internal/tee/simulated"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/tdx"
	"github.com/confed/confed/internal/yamlcfg"
)

// Policy is an attestation policy as it appears in configuration files:
// which TEE a peer must run in and, for each kind, what its evidence must
// show. Only the section of the named kind is used.
type Policy struct {
	// TEE is the kind the peer must prove: sev-snp, tdx, sgx, aws-nitro,
	// azure-maa, arm-cca, nvidia-gpu or simulated (INSECURE; accepted only
	// with --insecure-simulated-tee).
	TEE       string          `yaml:"tee"`
	SEVSNP    snp.Policy      `yaml:"sev-snp"`
	TDX       tdx.Policy      `yaml:"tdx"`
	SGX       sgx.Policy      `yaml:"sgx"`
	Nitro     nitro.Policy    `yaml:"aws-nitro"`
	MAA       maa.Policy      `yaml:"azure-maa"`
	CCA       cca.Policy      `yaml:"arm-cca"`
	NVGPU     nvgpu.Policy    `yaml:"nvidia-gpu"`
	Simulated SimulatedPolicy `yaml:"simulated"`
}

// kindWant lists the kinds a policy can name, for messages.
const kindWant = "sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca, nvidia-gpu or simulated"

// SimulatedPolicy restricts the simulated TEE's (forgeable) measurement.
type SimulatedPolicy struct {
	// Measurements, if set, is an allow-list of SHA-256 digests (64 hex).
	Measurements []string `yaml:"measurements"`
}

// Kind is the evidence kind the policy asks for.
func (p Policy) Kind() string {
	if p.TEE == "simulated" {
		return tee.KindSimulated
	}
	return p.TEE
}

// Validate checks the section of the named kind.
func (p Policy) Validate() error {
	k := p.Kind()
	if sec, ok := sections[k]; ok {
		return sec.validate(p)
	}
	if k == "" {
		return errors.New("tee: missing: want " + kindWant)
	}
	return fmt.Errorf("tee: %q is not a TEE kind: want %s", p.TEE, kindWant)
}

// section is what the provider does with one kind's policy section:
// validate it, and build a verifier from it and the hooks.
type section struct {
	validate func(Policy) error
	verifier func(Policy, tee.Options, Hooks) (tee.Verifier, error)
}

// sections holds every kind a Policy can name, by evidence kind.
var sections = map[string]section{
	tee.KindSimulated: {
		func(p Policy) error { _, err := p.Simulated.measurements(); return err },
		func(p Policy, opts tee.Options, _ Hooks) (tee.Verifier, error) {
			if !opts.AllowInsecureSimulated {
				return nil, tee.ErrInsecureRefused
			}
			ms, _ := p.Simulated.measurements()
			return simulated.NewVerifier(opts, ms...), nil
		}},
	tee.KindSEVSNP: {
		func(p Policy) error { return p.SEVSNP.Validate() },
		func(p Policy, _ tee.Options, h Hooks) (tee.Verifier, error) {
			o := h.SNP
			o.Now = h.now(o.Now)
			return snp.NewVerifier(p.SEVSNP, o)
		}},
	tee.KindTDX: {
		func(p Policy) error { return p.TDX.Validate() },
		func(p Policy, _ tee.Options, h Hooks) (tee.Verifier, error) {
			o := h.TDX
			o.Now = h.now(o.Now)
			return tdx.NewVerifier(p.TDX, o)
		}},
	tee.KindSGX: {
		func(p Policy) error { return p.SGX.Validate() },
		func(p Policy, _ tee.Options, _ Hooks) (tee.Verifier, error) { return sgx.NewVerifier(p.SGX) }},
	tee.KindNitro: {
		func(p Policy) error { return p.Nitro.Validate() },
		func(p Policy, _ tee.Options, h Hooks) (tee.Verifier, error) {
			o := h.Nitro
			o.Now = h.now(o.Now)
			return nitro.NewVerifier(p.Nitro, o)
		}},
	tee.KindMAA: {
		func(p Policy) error { return p.MAA.Validate() },
		func(p Policy, _ tee.Options, h Hooks) (tee.Verifier, error) {
			o := h.MAA
			o.Now = h.now(o.Now)
			return maa.NewVerifier(p.MAA, o)
		}},
	tee.KindCCA: {
		func(p Policy) error { return p.CCA.Validate() },
		func(p Policy, _ tee.Options, h Hooks) (tee.Verifier, error) {
			return cca.NewVerifier(p.CCA, cca.Options{Now: h.Now})
		}},
	tee.KindNVGPU: {
		func(p Policy) error { return p.NVGPU.Validate() },
		func(p Policy, _ tee.Options, h Hooks) (tee.Verifier, error) {
			o := h.NVGPU
			o.Now = h.now(o.Now)
			return nvgpu.NewVerifier(p.NVGPU, o)
		}},
}

func (s SimulatedPolicy) measurements() ([][]byte, error) {
	var out [][]byte
	for i, m := range s.Measurements {
		b, err := decodeHex(m, 32)
		if err != nil {
			return nil, fmt.Errorf("simulated.measurements[%d]: %w", i, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// Hooks replace what hardware or the network would provide; tests use them
// with the fakes of internal/tee/snp/snptest.
type Hooks struct {
	SNP   snp.Options
	TDX   tdx.Options
	Nitro nitro.Options
	MAA   maa.Options
	NVGPU nvgpu.Options
	// Now, if set, is the time at which certificates must be valid
	// (auditors verifying archived evidence).
	Now func() time.Time
}

// now is the clock a verifier gets: h.Now if set, else the kind's own
// hook (which may be nil, for time.Now).
func (h Hooks) now(own func() time.Time) func() time.Time {
	if h.Now != nil {
		return h.Now
	}
	return own
}

// Verifier returns a verifier of evidence against p.
func Verifier(p Policy, opts tee.Options, h Hooks) (tee.Verifier, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("attestation policy: %w", err)
	}
	sec, ok := sections[p.Kind()]
	if !ok {
		return nil, tee.ErrUnsupportedVerifier(p.TEE)
	}
	return sec.verifier(p, opts, h)
}

// SimulatedVerifier is the verifier of an INSECURE simulated peer with no
// measurement restriction.
func SimulatedVerifier(opts tee.Options) (tee.Verifier, error) {
	return Verifier(Policy{TEE: "simulated"}, opts, Hooks{})
}

// Issuer returns the issuer for kind on this machine, or an error that says
// why it cannot be used here (insecure mode not enabled, hardware missing,
// unsupported build).
func Issuer(kind string, opts tee.Options) (tee.Issuer, error) {
	if err := CheckKind(kind, Run); err != nil && known(kind) {
		return nil, err
	}
	switch kind {
	case tee.KindSimulated, "simulated":
		return simulated.NewIssuer(opts)
	case tee.KindSEVSNP:
		return snp.NewIssuer()
	case tee.KindTDX:
		return tdx.NewIssuer()
	case tee.KindSGX:
		return sgx.NewIssuer()
	case tee.KindNitro:
		return nitro.NewIssuer()
	}
	return nil, tee.ErrUnsupported(kind)
}

func decodeHex(s string, n int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) != 2*n {
		return nil, fmt.Errorf("want %d hex characters, got %d", 2*n, len(s))
	}
	out := make([]byte, n)
	for i := range n {
		hi, lo := unhex(s[2*i]), unhex(s[2*i+1])
		if hi < 0 || lo < 0 {
			return nil, fmt.Errorf("%q is not hex", s)
		}
		out[i] = byte(hi<<4 | lo)
	}
	return out, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// CheckPolicy validates a policy read from a configuration file, naming its
// key (and the key's line, through l).
func CheckPolicy(l *yamlcfg.Locator, key string, p Policy) error {
	if p.TEE == "" {
		return l.Errorf(key+".tee", "want sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca, nvidia-gpu or simulated (INSECURE)")
	}
	if err := p.Validate(); err != nil {
		return l.Errorf(key, "%v", err)
	}
	return nil
}
