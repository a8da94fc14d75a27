package sgx

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgelesssys/ego/attestation/tcbstatus"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/yamlcfg"
)

// identitySize is the size of MRENCLAVE and MRSIGNER.
const identitySize = 32

// MaxReportSize bounds the evidence passed to Open Enclave. An SGX remote
// report (OE header and ECDSA quote with its PCK certificate chain) is
// about 5 KiB.
const MaxReportSize = 64 << 10

// Policy is what an SGX enclave's report must show to be accepted. It is
// configuration data (YAML); Validate checks it and names the bad key.
//
// The enclave is identified either by its exact code (UniqueIDs, MRENCLAVE)
// or by who signed it (SignerID, MRSIGNER, with ProductID and MinimumSVN);
// if both are given both must match. Debug enclaves are always refused.
type Policy struct {
	// UniqueIDs is the allow-list of MRENCLAVE values (64 hex digits each),
	// as printed by `ego uniqueid`.
	UniqueIDs []string `yaml:"unique_ids"`
	// SignerID is the required MRSIGNER (64 hex digits), as printed by
	// `ego signerid`. It requires ProductID.
	SignerID string `yaml:"signer_id"`
	// ProductID is the required ISVPRODID. Required with SignerID.
	ProductID *uint16 `yaml:"product_id,omitempty"`
	// MinimumSVN is the minimum ISVSVN (the enclave's security version).
	MinimumSVN uint16 `yaml:"minimum_svn"`
	// AllowedTCBStatuses are the TCB statuses accepted besides UpToDate,
	// such as "SWHardeningNeeded" (see TCBStatuses). Revoked is never
	// accepted.
	AllowedTCBStatuses []string `yaml:"allowed_tcb_statuses"`
}

// TCBStatuses are the names AllowedTCBStatuses may hold.
func TCBStatuses() []string {
	return []string{
		tcbstatus.OutOfDate.String(),
		tcbstatus.ConfigurationNeeded.String(),
		tcbstatus.OutOfDateConfigurationNeeded.String(),
		tcbstatus.SWHardeningNeeded.String(),
		tcbstatus.ConfigurationAndSWHardeningNeeded.String(),
	}
}

// Validate checks every key and returns all problems, each naming its key.
func (p Policy) Validate() error { return p.ValidateAt(nil, "") }

// ValidateAt is Validate for a policy decoded from a file at key (such as
// "tee.aggregator.sgx"), so that errors carry the file and line.
func (p Policy) ValidateAt(l *yamlcfg.Locator, key string) error {
	_, err := p.compile(l, key)
	return err
}

// compiled is a validated policy with its hex decoded.
type compiled struct {
	uniqueIDs  [][]byte
	signerID   []byte
	productID  *uint16
	minimumSVN uint16
	allowed    []tcbstatus.Status
}

func (p Policy) compile(l *yamlcfg.Locator, key string) (compiled, error) {
	var errs []error
	c := compiled{productID: p.ProductID, minimumSVN: p.MinimumSVN}
	if len(p.UniqueIDs) == 0 && p.SignerID == "" {
		errs = append(errs, l.Errorf(sub(key, "unique_ids"), "missing: set unique_ids (allowed MRENCLAVE values) or signer_id and product_id"))
	}
	for i, s := range p.UniqueIDs {
		b, err := decodeHex(s)
		if err != nil {
			errs = append(errs, l.Errorf(fmt.Sprintf("%s[%d]", sub(key, "unique_ids"), i), "%v", err))
			continue
		}
		c.uniqueIDs = append(c.uniqueIDs, b)
	}
	if p.SignerID != "" {
		b, err := decodeHex(p.SignerID)
		if err != nil {
			errs = append(errs, l.Errorf(sub(key, "signer_id"), "%v", err))
		}
		c.signerID = b
		if p.ProductID == nil {
			errs = append(errs, l.Errorf(sub(key, "product_id"), "missing: required with signer_id (the same signer may sign other enclaves)"))
		}
	} else if p.ProductID != nil {
		errs = append(errs, l.Errorf(sub(key, "product_id"), "is set but signer_id is not: a product ID means nothing without its signer"))
	}
	names := TCBStatuses()
	for i, s := range p.AllowedTCBStatuses {
		k := fmt.Sprintf("%s[%d]", sub(key, "allowed_tcb_statuses"), i)
		switch s {
		case tcbstatus.UpToDate.String():
			errs = append(errs, l.Errorf(k, "UpToDate is always allowed; list only the other statuses to accept"))
			continue
		case tcbstatus.Revoked.String(), tcbstatus.Unknown.String():
			errs = append(errs, l.Errorf(k, "%s can never be allowed", s))
			continue
		}
		if err := l.OneOf(k, s, names...); err != nil {
			errs = append(errs, err)
			continue
		}
		c.allowed = append(c.allowed, statusByName(s))
	}
	if err := yamlcfg.Join(errs...); err != nil {
		return compiled{}, err
	}
	return c, nil
}

func statusByName(name string) tcbstatus.Status {
	for s := tcbstatus.UpToDate; s <= tcbstatus.Unknown; s++ {
		if s.String() == name {
			return s
		}
	}
	return tcbstatus.Unknown
}

func decodeHex(s string) ([]byte, error) {
	if len(s) != 2*identitySize {
		return nil, fmt.Errorf("must be %d hex digits (%d bytes), got %d characters", 2*identitySize, identitySize, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("must be %d hex digits (%d bytes): %v", 2*identitySize, identitySize, err)
	}
	return b, nil
}

func sub(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Report is what verification of an SGX remote report establishes: the
// fields of EGo's attestation.Report, copied so that the policy is checked
// (and tested) in the default build, which does not link EGo.
type Report struct {
	Data            []byte
	SecurityVersion uint
	Debug           bool
	UniqueID        []byte // MRENCLAVE
	SignerID        []byte // MRSIGNER
	ProductID       []byte // ISVPRODID, little-endian, zero-padded to 16 bytes by Open Enclave
	TCBStatus       tcbstatus.Status
	TCBAdvisories   []string
}

// check validates a report that verification accepted. tcbLevelInvalid is
// true when verification returned attestation.ErrTCBLevelInvalid: the
// signature and chain are good but the platform's TCB is not up to date,
// which is accepted only for a status the policy allows.
func (c compiled) check(r Report, tcbLevelInvalid bool, reportData [64]byte) error {
	if r.Debug {
		return fmt.Errorf("sgx: debug enclave refused: its memory is open to the host")
	}
	if !bytes.Equal(r.Data, reportData[:]) {
		return fmt.Errorf("sgx: report data check failed: the report binds %x, not the expected key and context", r.Data)
	}
	if err := c.checkTCB(r.TCBStatus, tcbLevelInvalid, r.TCBAdvisories); err != nil {
		return err
	}
	if len(c.uniqueIDs) > 0 && !slices.ContainsFunc(c.uniqueIDs, func(id []byte) bool { return bytes.Equal(id, r.UniqueID) }) {
		return fmt.Errorf("sgx: MRENCLAVE check failed: %x is not in the allowed list", r.UniqueID)
	}
	if c.signerID != nil {
		if !bytes.Equal(c.signerID, r.SignerID) {
			return fmt.Errorf("sgx: MRSIGNER check failed: %x, want %x", r.SignerID, c.signerID)
		}
		pid, err := productID(r.ProductID)
		if err != nil {
			return err
		}
		if c.productID != nil && pid != *c.productID {
			return fmt.Errorf("sgx: product ID check failed: %d, want %d", pid, *c.productID)
		}
	}
	if r.SecurityVersion < uint(c.minimumSVN) {
		return fmt.Errorf("sgx: minimum SVN check failed: security version %d is below %d", r.SecurityVersion, c.minimumSVN)
	}
	return nil
}

func (c compiled) checkTCB(s tcbstatus.Status, tcbLevelInvalid bool, advisories []string) error {
	if s == tcbstatus.UpToDate {
		if tcbLevelInvalid {
			return fmt.Errorf("sgx: TCB status check failed: verification reported an invalid TCB level but the status says UpToDate")
		}
		return nil
	}
	if slices.Contains(c.allowed, s) && s != tcbstatus.Revoked && s != tcbstatus.Unknown {
		return nil
	}
	msg := fmt.Sprintf("sgx: TCB status check failed: %s is not allowed (%s)", s, tcbstatus.Explain(s))
	if len(advisories) > 0 {
		msg += "; advisories: " + strings.Join(advisories, ", ")
	}
	return fmt.Errorf("%s", msg)
}

// productID decodes Open Enclave's product ID claim: ISVPRODID as a
// little-endian uint16, zero-padded.
func productID(b []byte) (uint16, error) {
	if len(b) < 2 || len(b) > 16 {
		return 0, fmt.Errorf("sgx: malformed product ID %x", b)
	}
	for _, x := range b[2:] {
		if x != 0 {
			return 0, fmt.Errorf("sgx: malformed product ID %x: more than 16 bits", b)
		}
	}
	return binary.LittleEndian.Uint16(b), nil
}

// evaluate checks a verified report against the policy and returns its
// claims. It is the validation step of Verify, after verification.
func (c compiled) evaluate(r Report, tcbLevelInvalid bool, reportData [64]byte, now time.Time) (tee.Claims, error) {
	if err := c.check(r, tcbLevelInvalid, reportData); err != nil {
		return tee.Claims{}, err
	}
	return claims(r, reportData, now), nil
}

// claims builds the claims of a report that passed check.
func claims(r Report, reportData [64]byte, verifiedAt time.Time) tee.Claims {
	details := map[string]string{
		"mrenclave":        hex.EncodeToString(r.UniqueID),
		"mrsigner":         hex.EncodeToString(r.SignerID),
		"security_version": strconv.FormatUint(uint64(r.SecurityVersion), 10),
		"tcb_status":       r.TCBStatus.String(),
	}
	if pid, err := productID(r.ProductID); err == nil {
		details["product_id"] = strconv.Itoa(int(pid))
	}
	if len(r.TCBAdvisories) > 0 {
		details["tcb_advisories"] = strings.Join(r.TCBAdvisories, ",")
	}
	return tee.Claims{
		Kind:        tee.KindSGX,
		Measurement: bytes.Clone(r.UniqueID),
		Debug:       r.Debug,
		TCB:         r.TCBStatus.String(),
		ReportData:  reportData,
		VerifiedAt:  verifiedAt,
		Details:     details,
	}
}
