package maa

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/confed/confed/internal/yamlcfg"
)

// Attestation types a Policy can require.
const (
	TypeSEVSNP = "sevsnpvm"
	TypeSGX    = "sgx"
)

// Bindings of the report data.
const (
	BindReportData  = "report-data"
	BindRuntimeData = "runtime-data"
)

// Defaults and bounds.
const (
	DefaultClockSkew  = 5 * time.Minute
	MaxClockSkew      = time.Hour
	DefaultKeyRefresh = 24 * time.Hour
)

// Policy says which MAA tokens a Verifier accepts. A debuggable TEE is
// never accepted.
type Policy struct {
	// AttestationType is sevsnpvm (an SEV-SNP confidential VM or container)
	// or sgx.
	AttestationType string `yaml:"attestation_type"`
	// Issuer is the attestation provider, e.g.
	// https://sharedeus.eus.attest.azure.net; the token's iss must equal it.
	Issuer string `yaml:"issuer"`
	// KeyBundle is a JWKS file ({"keys": [...]}, as the provider's /certs
	// serves it, or with n/e) holding the provider's signing keys: the
	// offline trust anchor.
	KeyBundle string `yaml:"key_bundle"`
	// FetchKeys allows fetching signing keys missing from the bundle from
	// Issuer + "/certs" (over HTTPS, cached for KeyRefresh). Default false.
	FetchKeys  bool             `yaml:"fetch_keys"`
	KeyRefresh yamlcfg.Duration `yaml:"key_refresh"`
	// ClockSkew is the tolerance on exp and nbf (default 5m, at most 1h).
	ClockSkew yamlcfg.Duration `yaml:"clock_skew"`
	// Binding says which claim carries the report data: report-data (the
	// hardware report's REPORT_DATA claim equals the 64 bytes) or
	// runtime-data (the runtime data the TEE handed MAA carries them; see
	// docs/attestation.md). Default: report-data for sevsnpvm,
	// runtime-data for sgx.
	Binding string `yaml:"binding"`

	// SEV-SNP: allowed launch measurements (96 hex characters; at least
	// one), the minimum guest SVN, and whether x-ms-compliance-status must
	// be azure-compliant-cvm (default true).
	LaunchMeasurements []string `yaml:"launch_measurements"`
	MinimumGuestSVN    uint64   `yaml:"minimum_guest_svn"`
	RequireCompliance  *bool    `yaml:"require_compliance,omitempty"`

	// SGX: allowed MRENCLAVE and MRSIGNER values (64 hex characters; at
	// least one of the two lists), the product ID and the minimum SVN.
	MREnclaves []string `yaml:"mrenclaves"`
	MRSigners  []string `yaml:"mrsigners"`
	ProductID  *uint64  `yaml:"product_id,omitempty"`
	MinimumSVN uint64   `yaml:"minimum_svn"`
}

// Validate checks the policy; each problem names its key.
func (p Policy) Validate() error {
	_, err := p.compile()
	return err
}

type compiled struct {
	typ, issuer, binding string
	skew                 time.Duration
	compliance           bool
	launch               [][]byte
	minGuestSVN          uint64
	mrenclaves, mrsigner [][]byte
	productID            *uint64
	minSVN               uint64
}

func (p Policy) compile() (compiled, error) {
	var errs []error
	bad := func(key, f string, a ...any) {
		errs = append(errs, fmt.Errorf("azure-maa policy: %s: %s", key, fmt.Sprintf(f, a...)))
	}
	c := compiled{typ: p.AttestationType, issuer: p.Issuer, binding: p.Binding, skew: p.ClockSkew.Std(),
		compliance: p.RequireCompliance == nil || *p.RequireCompliance, minGuestSVN: p.MinimumGuestSVN,
		productID: p.ProductID, minSVN: p.MinimumSVN}
	if u, err := url.Parse(p.Issuer); err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		bad("issuer", "want the provider's https URL, e.g. https://sharedeus.eus.attest.azure.net, got %q", p.Issuer)
	}
	if p.KeyBundle == "" && !p.FetchKeys {
		bad("key_bundle", "set key_bundle (a JWKS file of the provider's signing keys) or fetch_keys: true")
	}
	if c.skew == 0 {
		c.skew = DefaultClockSkew
	}
	if c.skew < 0 || c.skew > MaxClockSkew {
		bad("clock_skew", "must be between 0 and %s, got %s", MaxClockSkew, p.ClockSkew)
	}
	if p.KeyRefresh < 0 {
		bad("key_refresh", "must not be negative")
	}
	switch p.AttestationType {
	case TypeSEVSNP:
		if c.binding == "" {
			c.binding = BindReportData
		}
		if len(p.LaunchMeasurements) == 0 {
			bad("launch_measurements", "at least one allowed launch measurement is required (96 hex characters)")
		}
		c.launch = hexList(p.LaunchMeasurements, 48, "launch_measurements", bad)
		if len(p.MREnclaves)+len(p.MRSigners) > 0 || p.ProductID != nil {
			bad("mrenclaves", "SGX keys (mrenclaves, mrsigners, product_id) do not apply to attestation_type sevsnpvm")
		}
	case TypeSGX:
		if c.binding == "" {
			c.binding = BindRuntimeData
		}
		if len(p.MREnclaves)+len(p.MRSigners) == 0 {
			bad("mrenclaves", "at least one allowed MRENCLAVE (mrenclaves) or MRSIGNER (mrsigners) is required (64 hex characters)")
		}
		c.mrenclaves = hexList(p.MREnclaves, 32, "mrenclaves", bad)
		c.mrsigner = hexList(p.MRSigners, 32, "mrsigners", bad)
		if len(p.LaunchMeasurements) > 0 {
			bad("launch_measurements", "does not apply to attestation_type sgx")
		}
	case "":
		bad("attestation_type", "missing: want sevsnpvm or sgx")
	default:
		bad("attestation_type", "%q, want sevsnpvm or sgx", p.AttestationType)
	}
	if c.binding != BindReportData && c.binding != BindRuntimeData && p.AttestationType != "" {
		bad("binding", "%q, want report-data or runtime-data", p.Binding)
	}
	return c, errors.Join(errs...)
}

func hexList(list []string, n int, key string, bad func(string, string, ...any)) [][]byte {
	var out [][]byte
	for i, s := range list {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != n {
			bad(fmt.Sprintf("%s[%d]", key, i), "want %d hex characters (%d bytes), got %q", 2*n, n, s)
			continue
		}
		out = append(out, b)
	}
	return out
}
