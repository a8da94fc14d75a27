package snp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/confed/confed/internal/yamlcfg"
	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
)

// Policy says which SEV-SNP guests a Verifier accepts. It is plain data,
// decoded from YAML; Validate checks it and names the bad key.
//
// A debug guest is never accepted, whatever the policy says, and the report
// data must always equal the 64 bytes the caller expects.
type Policy struct {
	// Measurements is the allow-list of launch measurements, 96 hex
	// characters (48 bytes) each. At least one is required.
	Measurements []string `yaml:"measurements"`
	// HostData, if set, is the HOST_DATA the guest must have been launched
	// with: 64 hex characters (32 bytes).
	HostData string `yaml:"host_data"`
	// MinimumTCB is the component-wise minimum of the reported TCB and of
	// the launch TCB.
	MinimumTCB TCB `yaml:"minimum_tcb"`
	// MinimumGuestSVN is the minimum guest security version number.
	MinimumGuestSVN uint32 `yaml:"minimum_guest_svn"`
	// VMPL is the only VMPL accepted (0 to 3); nil means 0.
	VMPL *int `yaml:"vmpl,omitempty"`
	// AllowSMT accepts guests whose policy allows simultaneous
	// multithreading and hosts that run with SMT on.
	AllowSMT bool `yaml:"allow_smt"`
	// Product, if set, is the only accepted AMD product line: Milan, Genoa
	// or Turin.
	Product string `yaml:"product"`
	// Collateral says where certificates and revocation lists come from.
	Collateral Collateral `yaml:"collateral"`
}

// TCB is a minimum trusted computing base: security patch levels of the AMD
// secure processor's firmware components and of the CPU microcode.
type TCB struct {
	Bootloader uint8 `yaml:"bootloader"`
	TEE        uint8 `yaml:"tee"`
	SNP        uint8 `yaml:"snp"`
	Microcode  uint8 `yaml:"microcode"`
}

// Collateral configures where a Verifier gets AMD's certificates and CRLs.
type Collateral struct {
	// CacheDir, if set, holds fetched key-server responses on disk, keyed
	// by URL. Without it they are cached in memory only.
	CacheDir string `yaml:"cache_dir"`
	// Offline forbids all network fetching: certificates come only from the
	// evidence's certificate table and from Bundle.
	Offline bool `yaml:"offline"`
	// Bundle is a PEM file of VCEK/VLEK, ASK/ASVK and ARK certificates and,
	// for revocation checks in offline mode, AMD's CRLs ("X509 CRL"
	// blocks). Its certificates are never trust anchors: they must chain to
	// AMD's roots like any other.
	Bundle string `yaml:"bundle"`
	// CheckRevocations checks AMD's CRL for a revoked ASK/ASVK; if the CRL
	// cannot be had, verification fails. Default true.
	CheckRevocations *bool `yaml:"check_revocations,omitempty"`
	// MaxAge is how long a cached CRL is used before it is fetched again
	// (default 24h). Certificates are cached for ever: their URL names the
	// chip and TCB, so its content never changes.
	MaxAge yamlcfg.Duration `yaml:"max_age"`
}

// DefaultMaxAge is the default Collateral.MaxAge.
const DefaultMaxAge = yamlcfg.Duration(24 * time.Hour)

// RevocationsChecked reports whether CRLs are checked (default true).
func (c Collateral) RevocationsChecked() bool {
	return c.CheckRevocations == nil || *c.CheckRevocations
}

func (c Collateral) maxAge() yamlcfg.Duration {
	if c.MaxAge == 0 {
		return DefaultMaxAge
	}
	return c.MaxAge
}

// Product lines accepted by Policy.Product.
var productLines = []string{"Milan", "Genoa", "Turin"}

// Validate checks the policy. Each problem names its key (for example
// "measurements[1]"); all problems are reported.
func (p Policy) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("sev-snp policy: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(p.Measurements) == 0 {
		bad("measurements", "at least one allowed launch measurement is required (%d hex characters)", 2*abi.MeasurementSize)
	}
	for i, m := range p.Measurements {
		if err := checkHex(m, abi.MeasurementSize); err != nil {
			bad(fmt.Sprintf("measurements[%d]", i), "%v", err)
		}
	}
	if p.HostData != "" {
		if err := checkHex(p.HostData, abi.HostDataSize); err != nil {
			bad("host_data", "%v", err)
		}
	}
	if p.VMPL != nil && (*p.VMPL < 0 || *p.VMPL > 3) {
		bad("vmpl", "must be 0, 1, 2 or 3, got %d", *p.VMPL)
	}
	if p.Product != "" {
		if _, err := kds.ParseProductLine(p.Product); err != nil {
			bad("product", "unknown AMD product line %q (want one of %s)", p.Product, strings.Join(productLines, ", "))
		}
	}
	c := p.Collateral
	if c.MaxAge < 0 {
		bad("collateral.max_age", "must not be negative, got %s", c.MaxAge)
	}
	if c.Offline && c.RevocationsChecked() && c.Bundle == "" {
		bad("collateral.check_revocations", "offline mode can check revocations only with AMD's CRL in collateral.bundle: set collateral.bundle, or set check_revocations: false")
	}
	return errors.Join(errs...)
}

// checkHex checks that s is exactly size bytes in hex.
func checkHex(s string, size int) error {
	if len(s) != 2*size {
		return fmt.Errorf("want %d hex characters (%d bytes), got %d characters", 2*size, size, len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return fmt.Errorf("not hexadecimal: %v", err)
	}
	return nil
}

// compiled is a validated Policy in the form the checks use.
type compiled struct {
	measurements [][]byte
	hostData     []byte // nil: not checked
	minTCB       TCB
	minGuestSVN  uint32
	vmpl         int
	allowSMT     bool
	product      string
}

func (p Policy) compile() (compiled, error) {
	if err := p.Validate(); err != nil {
		return compiled{}, err
	}
	c := compiled{
		minTCB:      p.MinimumTCB,
		minGuestSVN: p.MinimumGuestSVN,
		allowSMT:    p.AllowSMT,
		product:     p.Product,
	}
	for _, m := range p.Measurements {
		b, _ := hex.DecodeString(m)
		c.measurements = append(c.measurements, b)
	}
	if p.HostData != "" {
		c.hostData, _ = hex.DecodeString(p.HostData)
	}
	if p.VMPL != nil {
		c.vmpl = *p.VMPL
	}
	return c, nil
}

func (t TCB) parts() kds.TCBParts {
	return kds.TCBParts{BlSpl: t.Bootloader, TeeSpl: t.TEE, SnpSpl: t.SNP, UcodeSpl: t.Microcode}
}

// String formats t like the policy's minimum_tcb keys.
func (t TCB) String() string {
	return fmt.Sprintf("bootloader=%d tee=%d snp=%d microcode=%d", t.Bootloader, t.TEE, t.SNP, t.Microcode)
}

// TCBFromVersion splits a TCB_VERSION value of a report into its parts.
func TCBFromVersion(v uint64) TCB {
	p := kds.DecomposeTCBVersion(kds.TCBVersion(v))
	return TCB{Bootloader: p.BlSpl, TEE: p.TeeSpl, SNP: p.SnpSpl, Microcode: p.UcodeSpl}
}

// Version composes t into a TCB_VERSION value (reserved fields zero).
func (t TCB) Version() uint64 {
	p := t.parts()
	return uint64(p.UcodeSpl)<<56 | uint64(p.SnpSpl)<<48 | uint64(p.TeeSpl)<<8 | uint64(p.BlSpl)
}

// atLeast reports whether t is component-wise at least min.
func (t TCB) atLeast(min TCB) bool {
	return kds.TCBPartsLE(min.parts(), t.parts())
}
