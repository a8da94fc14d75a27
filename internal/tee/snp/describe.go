package snp

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
)

// Field is one named, human-readable field of evidence, for display
// (confed attest show).
type Field struct {
	Name  string
	Value string
}

// Describe lists every field of the report in raw evidence, then the
// certificates of its certificate table, in readable form. It checks only
// that the bytes parse: it verifies no signature and applies no policy, so
// nothing it shows is established until a Verifier accepts the evidence.
func Describe(raw []byte) ([]Field, error) {
	att, err := parseEvidence(raw)
	if err != nil {
		return nil, err
	}
	r := att.GetReport()
	var f []Field
	add := func(name, format string, args ...any) {
		f = append(f, Field{name, fmt.Sprintf(format, args...)})
	}
	add("version", "%d", r.GetVersion())
	add("guest_svn", "%d", r.GetGuestSvn())
	add("policy", "%s", describePolicy(r.GetPolicy()))
	add("family_id", "%x", r.GetFamilyId())
	add("image_id", "%x", r.GetImageId())
	add("vmpl", "%d", r.GetVmpl())
	add("signature_algo", "%s", describeSigAlgo(r.GetSignatureAlgo()))
	add("current_tcb", "%s", describeTCB(r.GetCurrentTcb()))
	add("platform_info", "%s", describePlatformInfo(r.GetPlatformInfo()))
	add("signer_info", "%s", describeSignerInfo(r.GetSignerInfo()))
	add("report_data", "%x", r.GetReportData())
	add("measurement", "%x", r.GetMeasurement())
	add("host_data", "%x", r.GetHostData())
	add("id_key_digest", "%x", r.GetIdKeyDigest())
	add("author_key_digest", "%x", r.GetAuthorKeyDigest())
	add("report_id", "%x", r.GetReportId())
	add("report_id_ma", "%x", r.GetReportIdMa())
	add("reported_tcb", "%s", describeTCB(r.GetReportedTcb()))
	if r.GetVersion() >= abi.ReportVersion3 {
		add("cpuid_fms", "%s", describeFMS(r.GetCpuid1EaxFms()))
	}
	add("chip_id", "%x", r.GetChipId())
	add("committed_tcb", "%s", describeTCB(r.GetCommittedTcb()))
	add("current_version", "%d.%d build %d", r.GetCurrentMajor(), r.GetCurrentMinor(), r.GetCurrentBuild())
	add("committed_version", "%d.%d build %d", r.GetCommittedMajor(), r.GetCommittedMinor(), r.GetCommittedBuild())
	add("launch_tcb", "%s", describeTCB(r.GetLaunchTcb()))
	add("launch_mit_vector", "0x%x", r.GetLaunchMitVector())
	add("current_mit_vector", "0x%x", r.GetCurrentMitVector())
	add("signature", "%s", describeSignature(r))
	return append(f, describeCerts(att.GetCertificateChain())...), nil
}

func describePolicy(p uint64) string {
	g, err := abi.ParseSnpPolicy(p)
	if err != nil {
		return fmt.Sprintf("0x%x (invalid: %v)", p, err)
	}
	flags := []string{fmt.Sprintf("abi>=%d.%d", g.ABIMajor, g.ABIMinor)}
	for _, b := range []struct {
		on   bool
		name string
	}{
		{g.Debug, "DEBUG"}, {g.SMT, "smt"}, {g.MigrateMA, "migrate_ma"}, {g.SingleSocket, "single_socket"},
		{g.CXLAllowed, "cxl_allowed"}, {g.MemAES256XTS, "mem_aes_256_xts"}, {g.RAPLDis, "rapl_dis"},
		{g.CipherTextHidingDRAM, "ciphertext_hiding_dram"}, {g.PageSwapDisable, "page_swap_disable"},
	} {
		if b.on {
			flags = append(flags, b.name)
		}
	}
	if !g.Debug {
		flags = append(flags, "debug off")
	}
	return fmt.Sprintf("0x%x (%s)", p, strings.Join(flags, ", "))
}

func describeSigAlgo(a uint32) string {
	if a == abi.SignEcdsaP384Sha384 {
		return fmt.Sprintf("%d (ECDSA P-384 with SHA-384)", a)
	}
	return fmt.Sprintf("%d (unknown)", a)
}

func describeTCB(v uint64) string {
	return fmt.Sprintf("0x%016x (%s)", v, TCBFromVersion(v))
}

func describePlatformInfo(v uint64) string {
	info, err := abi.ParseSnpPlatformInfo(v)
	var flags []string
	for _, b := range []struct {
		on   bool
		name string
	}{
		{info.SMTEnabled, "smt_enabled"}, {info.TSMEEnabled, "tsme_enabled"}, {info.ECCEnabled, "ecc_enabled"},
		{info.RAPLDisabled, "rapl_disabled"}, {info.CiphertextHidingDRAMEnabled, "ciphertext_hiding_dram"},
		{info.AliasCheckComplete, "alias_check_complete"}, {info.TIOEnabled, "tio_enabled"},
	} {
		if b.on {
			flags = append(flags, b.name)
		}
	}
	if err != nil {
		flags = append(flags, "unknown bits")
	}
	if len(flags) == 0 {
		flags = []string{"none"}
	}
	return fmt.Sprintf("0x%x (%s)", v, strings.Join(flags, ", "))
}

func describeSignerInfo(v uint32) string {
	info, err := abi.ParseSignerInfo(v)
	if err != nil {
		return fmt.Sprintf("0x%x (invalid: %v)", v, err)
	}
	return fmt.Sprintf("0x%x (signing key %v, chip id masked %t, author key %t)", v, info.SigningKey, info.MaskChipKey, info.AuthorKeyEn)
}

func describeFMS(fms uint32) string {
	family, model, stepping := abi.FmsFromCpuid1Eax(fms)
	return fmt.Sprintf("family 0x%x model 0x%x stepping 0x%x (%s)", family, model, stepping,
		kds.ProductName(abi.SevProductFromCpuid1Eax(fms)))
}

func describeSignature(r *spb.Report) string {
	sig := r.GetSignature()
	if r.GetSignatureAlgo() != abi.SignEcdsaP384Sha384 || len(sig) < 0x90 {
		return hex.EncodeToString(sig)
	}
	// R and S are 72-byte little-endian fields at 0x0 and 0x48.
	return fmt.Sprintf("r=%s s=%s (little-endian)", hex.EncodeToString(sig[:0x48]), hex.EncodeToString(sig[0x48:0x90]))
}

func describeCerts(chain *spb.CertificateChain) []Field {
	var f []Field
	for _, c := range []struct {
		name string
		der  []byte
	}{
		{"cert.ark", chain.GetArkCert()}, {"cert.ask", chain.GetAskCert()},
		{"cert.vcek", chain.GetVcekCert()}, {"cert.vlek", chain.GetVlekCert()},
	} {
		if len(c.der) > 0 {
			f = append(f, Field{c.name, describeCert(c.der)})
		}
	}
	guids := make([]string, 0, len(chain.GetExtras()))
	for g := range chain.GetExtras() {
		guids = append(guids, g)
	}
	slices.Sort(guids)
	for _, g := range guids {
		blob := chain.GetExtras()[g]
		v := fmt.Sprintf("%d bytes", len(blob))
		if g == abi.ExtraPlatformInfoGUID {
			if info, err := abi.ParseExtraPlatformInfo(blob); err == nil {
				v = "platform info (unsigned): " + describeFMS(info.Cpuid1Eax)
			}
		} else if len(blob) > 0 {
			if _, err := x509.ParseCertificate(blob); err == nil {
				v = describeCert(blob)
			}
		}
		f = append(f, Field{"cert." + g, v})
	}
	return f
}

func describeCert(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Sprintf("%d bytes, not an X.509 certificate: %v", len(der), err)
	}
	return fmt.Sprintf("%d bytes, subject %q, issuer %q, serial %x, valid %s to %s", len(der),
		c.Subject.CommonName, c.Issuer.CommonName, c.SerialNumber,
		c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"))
}
