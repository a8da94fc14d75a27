package tdx

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/confed/confed/internal/yamlcfg"
)

// Sizes of the measured fields, in bytes.
const (
	measurementSize = 48 // MRTD, RTMRn, MRCONFIGID, MROWNER
	teeTCBSVNSize   = 16
	rtmrCount       = 4
)

// Limits on the collateral cache age.
const (
	// DefaultCollateralMaxAge is how long fetched collateral is reused when
	// collateral.max_age is not set.
	DefaultCollateralMaxAge = 24 * time.Hour
	// maxCollateralMaxAge bounds collateral.max_age. Intel's TCB info and
	// QE identity carry a nextUpdate about 30 days out, which the library
	// enforces on its own; reusing a response for longer than a week would
	// delay learning of a TCB recovery for too long.
	maxCollateralMaxAge = 7 * 24 * time.Hour
)

// Policy is what a TDX quote must show to be accepted. It is configuration
// data (YAML); Validate checks it and names the bad key.
//
// The signature, the PCK certificate chain and (unless offline) Intel's
// collateral are always verified; a debug TD is always refused. The policy
// adds the measurements and minimum versions that the relying party
// expects.
type Policy struct {
	// MRTD is the allow-list of TD measurements (MRTD, 48 bytes as 96 hex
	// digits). At least one is required.
	MRTD []string `yaml:"mrtd"`
	// RTMRs, if not empty, is an allow-list of runtime measurement sets:
	// each entry lists RTMR0..RTMR3 (4 × 96 hex digits), and the quote
	// must match every register of one entry.
	RTMRs [][]string `yaml:"rtmrs"`
	// MRConfigID, if set, is the required MRCONFIGID (96 hex digits).
	MRConfigID string `yaml:"mr_config_id"`
	// MinimumTEETCBSVN, if set, is the component-wise minimum TEE_TCB_SVN
	// (16 bytes as 32 hex digits).
	MinimumTEETCBSVN string `yaml:"minimum_tee_tcb_svn"`
	// MinimumQESVN and MinimumPCESVN are the minimum security versions of
	// the quoting enclave and the provisioning certification enclave.
	MinimumQESVN  uint16 `yaml:"minimum_qe_svn"`
	MinimumPCESVN uint16 `yaml:"minimum_pce_svn"`
	// Collateral says how Intel's TCB info, QE identity and CRLs are
	// obtained.
	Collateral CollateralPolicy `yaml:"collateral"`
}

// CollateralPolicy configures the collateral that Intel's Provisioning
// Certification Service (PCS) publishes: TCB info and QE identity (which
// say whether the platform's TCB is up to date) and the CRLs.
type CollateralPolicy struct {
	// CacheDir, if set, keeps fetched collateral on disk so that a restart
	// does not refetch it. Cached responses are verified like fresh ones
	// (they are signed by Intel), so the directory needs no protection
	// beyond ordinary file permissions; MaxAge bounds how old they may be.
	CacheDir string `yaml:"cache_dir"`
	// Offline skips collateral entirely: only the quote signature and the
	// PCK certificate chain up to Intel's root are checked, NOT whether the
	// platform's TCB is up to date or revoked. For air-gapped verifiers and
	// tests; claims record it in Details["collateral"].
	Offline bool `yaml:"offline"`
	// CheckRevocations also fetches the PCK and root CA CRLs and refuses
	// revoked certificates. A CRL that cannot be fetched fails verification.
	CheckRevocations bool `yaml:"check_revocations"`
	// MaxAge is how long a fetched response is reused before it is fetched
	// again (default 24h, at most 168h).
	MaxAge yamlcfg.Duration `yaml:"max_age"`
}

// Validate checks every key and returns all problems, each naming its key.
func (p Policy) Validate() error { return p.ValidateAt(nil, "") }

// ValidateAt is Validate for a policy decoded from a file at key (such as
// "tee.aggregator.tdx"), so that errors carry the file and line.
func (p Policy) ValidateAt(l *yamlcfg.Locator, key string) error {
	_, err := p.compile(l, key)
	return err
}

// compiled is a validated policy with its hex decoded.
type compiled struct {
	mrtd             [][]byte
	rtmrs            [][][]byte
	mrConfigID       []byte
	minimumTEETCBSVN []byte
	minimumQESVN     uint16
	minimumPCESVN    uint16
	offline          bool
	checkRevocations bool
	cacheDir         string
	maxAge           time.Duration
}

func (p Policy) compile(l *yamlcfg.Locator, key string) (compiled, error) {
	var errs []error
	c := compiled{
		minimumQESVN:     p.MinimumQESVN,
		minimumPCESVN:    p.MinimumPCESVN,
		offline:          p.Collateral.Offline,
		checkRevocations: p.Collateral.CheckRevocations,
		cacheDir:         p.Collateral.CacheDir,
		maxAge:           p.Collateral.MaxAge.Std(),
	}
	if len(p.MRTD) == 0 {
		errs = append(errs, l.Required(sub(key, "mrtd"), "a list of allowed MRTD values (96 hex digits each)"))
	}
	for i, s := range p.MRTD {
		b, err := decodeHex(s, measurementSize)
		if err != nil {
			errs = append(errs, l.Errorf(item(sub(key, "mrtd"), i), "%v", err))
			continue
		}
		c.mrtd = append(c.mrtd, b)
	}
	for i, set := range p.RTMRs {
		k := item(sub(key, "rtmrs"), i)
		if len(set) != rtmrCount {
			errs = append(errs, l.Errorf(k, "must list exactly %d registers (RTMR0..RTMR3), got %d", rtmrCount, len(set)))
			continue
		}
		regs := make([][]byte, 0, rtmrCount)
		for j, s := range set {
			b, err := decodeHex(s, measurementSize)
			if err != nil {
				errs = append(errs, l.Errorf(item(k, j), "%v", err))
				continue
			}
			regs = append(regs, b)
		}
		if len(regs) == rtmrCount {
			c.rtmrs = append(c.rtmrs, regs)
		}
	}
	if p.MRConfigID != "" {
		b, err := decodeHex(p.MRConfigID, measurementSize)
		if err != nil {
			errs = append(errs, l.Errorf(sub(key, "mr_config_id"), "%v", err))
		}
		c.mrConfigID = b
	}
	if p.MinimumTEETCBSVN != "" {
		b, err := decodeHex(p.MinimumTEETCBSVN, teeTCBSVNSize)
		if err != nil {
			errs = append(errs, l.Errorf(sub(key, "minimum_tee_tcb_svn"), "%v", err))
		}
		c.minimumTEETCBSVN = b
	}
	ck := sub(key, "collateral")
	if p.Collateral.Offline && p.Collateral.CheckRevocations {
		errs = append(errs, l.Errorf(sub(ck, "check_revocations"), "cannot be true when collateral.offline is true (revocation checks fetch CRLs)"))
	}
	if p.Collateral.Offline && p.Collateral.CacheDir != "" {
		errs = append(errs, l.Errorf(sub(ck, "cache_dir"), "is set but collateral.offline is true, so nothing would be fetched or cached"))
	}
	switch age := p.Collateral.MaxAge.Std(); {
	case age < 0:
		errs = append(errs, l.Errorf(sub(ck, "max_age"), "must not be negative, got %s", p.Collateral.MaxAge))
	case age > maxCollateralMaxAge:
		errs = append(errs, l.Errorf(sub(ck, "max_age"), "must be at most %s, got %s", yamlcfg.Duration(maxCollateralMaxAge), p.Collateral.MaxAge))
	case age == 0:
		c.maxAge = DefaultCollateralMaxAge
	}
	if err := yamlcfg.Join(errs...); err != nil {
		return compiled{}, err
	}
	return c, nil
}

// decodeHex decodes s, which must be exactly n bytes in hex.
func decodeHex(s string, n int) ([]byte, error) {
	if len(s) != 2*n {
		return nil, fmt.Errorf("must be %d hex digits (%d bytes), got %d characters", 2*n, n, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("must be %d hex digits (%d bytes): %v", 2*n, n, err)
	}
	return b, nil
}

func sub(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func item(key string, i int) string { return fmt.Sprintf("%s[%d]", key, i) }

// hexList formats byte strings for error messages.
func hexList(bs [][]byte) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = hex.EncodeToString(b)
	}
	return strings.Join(parts, ", ")
}
