package snp

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/validate"
)

// platformInfoSMT is the PLATFORM_INFO bit that says the host runs with SMT.
const platformInfoSMT = 1 << 0

// check is the "validate" step: the already verified report against the
// policy and the expected report data. The confed checks come first, one
// per policy key, so that a refusal names what failed; go-sev-guest's
// validate.SnpAttestation then checks them again together with the report's
// internal consistency (committed/current TCB and firmware versions, VCEK
// TCB and chip ID against the report).
func (c compiled) check(att *spb.Attestation, reportData [64]byte) error {
	r := att.GetReport()
	guest, err := abi.ParseSnpPolicy(r.GetPolicy())
	if err != nil {
		return fmt.Errorf("sev-snp: guest policy 0x%x: %v", r.GetPolicy(), err)
	}
	if guest.Debug {
		return fmt.Errorf("sev-snp: debug guest refused: its policy (0x%x) lets the host read and change its memory", r.GetPolicy())
	}
	if !bytes.Equal(r.GetReportData(), reportData[:]) {
		return fmt.Errorf("sev-snp: report data does not bind this connection: the report carries %s, want %s",
			short(r.GetReportData()), short(reportData[:]))
	}
	measurement := c.allowedMeasurement(r.GetMeasurement())
	if measurement == nil {
		return fmt.Errorf("sev-snp: measurement %x not in the allowed list (%d allowed)", r.GetMeasurement(), len(c.measurements))
	}
	if uint64(r.GetVmpl()) != uint64(c.vmpl) {
		return fmt.Errorf("sev-snp: VMPL %d not allowed (want %d)", r.GetVmpl(), c.vmpl)
	}
	if guest.MigrateMA {
		return fmt.Errorf("sev-snp: guest policy 0x%x allows a migration agent, which can export the guest's memory", r.GetPolicy())
	}
	if !c.allowSMT {
		if guest.SMT {
			return fmt.Errorf("sev-snp: guest policy 0x%x allows SMT, and the policy does not (allow_smt: false)", r.GetPolicy())
		}
		if r.GetPlatformInfo()&platformInfoSMT != 0 {
			return fmt.Errorf("sev-snp: host runs with SMT enabled, and the policy does not allow it (allow_smt: false)")
		}
	}
	for _, t := range []struct {
		name  string
		value uint64
	}{{"reported", r.GetReportedTcb()}, {"launch", r.GetLaunchTcb()}} {
		if tcb := TCBFromVersion(t.value); !tcb.atLeast(c.minTCB) {
			return fmt.Errorf("sev-snp: TCB below minimum: %s TCB %s, minimum_tcb %s", t.name, tcb, c.minTCB)
		}
	}
	if r.GetGuestSvn() < c.minGuestSVN {
		return fmt.Errorf("sev-snp: guest SVN %d below minimum_guest_svn %d", r.GetGuestSvn(), c.minGuestSVN)
	}
	if c.hostData != nil && !bytes.Equal(r.GetHostData(), c.hostData) {
		return fmt.Errorf("sev-snp: host data %x does not match host_data %x", r.GetHostData(), c.hostData)
	}
	if c.product != "" {
		if line, _ := productOf(att); line != c.product {
			return fmt.Errorf("sev-snp: product %s not allowed (want %s)", line, c.product)
		}
	}
	if err := validate.SnpAttestation(att, c.validateOptions(measurement, reportData)); err != nil {
		return fmt.Errorf("sev-snp: report fails validation: %v", err)
	}
	return nil
}

// validateOptions are fresh go-sev-guest validation options for one call
// (the library mutates them).
func (c compiled) validateOptions(measurement []byte, reportData [64]byte) *validate.Options {
	vmpl := c.vmpl
	return &validate.Options{
		// The maximum guest policy: no debug, no migration agent, SMT only
		// if allowed; ABI minimum 0.0; nothing else required.
		GuestPolicy:      abi.SnpPolicy{SMT: c.allowSMT},
		MinimumGuestSvn:  c.minGuestSVN,
		ReportData:       bytes.Clone(reportData[:]),
		HostData:         bytes.Clone(c.hostData),
		Measurement:      bytes.Clone(measurement),
		MinimumTCB:       c.minTCB.parts(),
		MinimumLaunchTCB: c.minTCB.parts(),
		VMPL:             &vmpl,
	}
}

// allowedMeasurement returns the allow-list entry equal to m, or nil.
func (c compiled) allowedMeasurement(m []byte) []byte {
	for _, a := range c.measurements {
		if bytes.Equal(a, m) {
			return a
		}
	}
	return nil
}

// productOf returns the product line and name of the machine that signed
// the report, from signed data only: the report's CPUID family/model/
// stepping (report version 3 and later), else the product name in the
// VCEK/VLEK certificate. The certificate table's unsigned platform-info
// entry is not used.
func productOf(att *spb.Attestation) (line, name string) {
	if fms := att.GetReport().GetCpuid1EaxFms(); fms != 0 {
		p := abi.SevProductFromCpuid1Eax(fms)
		return kds.ProductLine(p), kds.ProductName(p)
	}
	info, err := abi.ParseSignerInfo(att.GetReport().GetSignerInfo())
	if err != nil {
		return "Unknown", "Unknown"
	}
	der := att.GetCertificateChain().GetVcekCert()
	if info.SigningKey == abi.VlekReportSigner {
		der = att.GetCertificateChain().GetVlekCert()
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "Unknown", "Unknown"
	}
	ext, err := kds.CertificateExtensions(cert, info.SigningKey)
	if err != nil {
		return "Unknown", "Unknown"
	}
	p, err := kds.ParseProductName(ext.ProductName, info.SigningKey)
	if err != nil {
		return "Unknown", ext.ProductName
	}
	if info.SigningKey == abi.VlekReportSigner {
		return kds.ProductLine(p), kds.ProductLine(p)
	}
	return kds.ProductLine(p), kds.ProductName(p)
}

// short abbreviates a byte string for messages: its first 8 bytes in hex.
func short(b []byte) string {
	if len(b) <= 8 {
		return hex.EncodeToString(b)
	}
	return hex.EncodeToString(b[:8]) + "…"
}
