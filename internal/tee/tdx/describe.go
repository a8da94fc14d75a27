package tdx

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-tdx-guest/pcs"
	"github.com/google/go-tdx-guest/verify"
)

// Field is one named, human-readable value of a quote.
type Field struct {
	Name  string
	Value string
}

// tdAttributeBits names the TD_ATTRIBUTES bits that go-tdx-guest's
// validation allows; any other set bit is printed as "bit N".
var tdAttributeBits = map[uint]string{
	0:  "DEBUG",
	28: "SEPT_VE_DISABLE",
	30: "PKS",
	63: "PERFMON",
}

// Describe lists every field of a raw TDX v4 quote, in quote order, for
// display. It parses but does NOT verify: nothing it prints is trustworthy
// until Verify has accepted the same bytes.
func Describe(raw []byte) (fields []Field, err error) {
	q, err := parseQuote(raw)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			fields, err = nil, fmt.Errorf("tdx: describing quote: %v", r)
		}
	}()
	var out []Field
	add := func(name, value string) { out = append(out, Field{Name: name, Value: value}) }
	hx := func(name string, b []byte) { add(name, hex.EncodeToString(b)) }

	sum := sha256.Sum256(raw)
	add("quote.size", strconv.Itoa(len(raw)))
	hx("quote.sha256", sum[:])

	h := q.GetHeader()
	add("header.version", strconv.FormatUint(uint64(h.GetVersion()), 10))
	add("header.attestation_key_type", attestationKeyType(h.GetAttestationKeyType()))
	add("header.tee_type", fmt.Sprintf("0x%08x (%s)", h.GetTeeType(), teeType(h.GetTeeType())))
	add("header.qe_svn", strconv.Itoa(int(le16(h.GetQeSvn()))))
	add("header.pce_svn", strconv.Itoa(int(le16(h.GetPceSvn()))))
	hx("header.qe_vendor_id", h.GetQeVendorId())
	hx("header.user_data", h.GetUserData())

	b := q.GetTdQuoteBody()
	hx("body.tee_tcb_svn", b.GetTeeTcbSvn())
	hx("body.mr_seam", b.GetMrSeam())
	hx("body.mr_signer_seam", b.GetMrSignerSeam())
	hx("body.seam_attributes", b.GetSeamAttributes())
	add("body.td_attributes", describeTDAttributes(b.GetTdAttributes()))
	hx("body.xfam", b.GetXfam())
	hx("body.mr_td", b.GetMrTd())
	hx("body.mr_config_id", b.GetMrConfigId())
	hx("body.mr_owner", b.GetMrOwner())
	hx("body.mr_owner_config", b.GetMrOwnerConfig())
	for i, r := range b.GetRtmrs() {
		hx(fmt.Sprintf("body.rtmr%d", i), r)
	}
	hx("body.report_data", b.GetReportData())

	add("signed_data.size", strconv.FormatUint(uint64(q.GetSignedDataSize()), 10))
	sd := q.GetSignedData()
	hx("signed_data.signature", sd.GetSignature())
	hx("signed_data.ecdsa_attestation_key", sd.GetEcdsaAttestationKey())
	cd := sd.GetCertificationData()
	add("certification_data.type", strconv.FormatUint(uint64(cd.GetCertificateDataType()), 10))
	add("certification_data.size", strconv.FormatUint(uint64(cd.GetSize()), 10))
	qc := cd.GetQeReportCertificationData()
	qe := qc.GetQeReport()
	hx("qe_report.cpu_svn", qe.GetCpuSvn())
	add("qe_report.misc_select", fmt.Sprintf("0x%08x", qe.GetMiscSelect()))
	hx("qe_report.reserved1", qe.GetReserved1())
	hx("qe_report.attributes", qe.GetAttributes())
	hx("qe_report.mr_enclave", qe.GetMrEnclave())
	hx("qe_report.reserved2", qe.GetReserved2())
	hx("qe_report.mr_signer", qe.GetMrSigner())
	hx("qe_report.reserved3", qe.GetReserved3())
	add("qe_report.isv_prod_id", strconv.FormatUint(uint64(qe.GetIsvProdId()), 10))
	add("qe_report.isv_svn", strconv.FormatUint(uint64(qe.GetIsvSvn()), 10))
	hx("qe_report.reserved4", qe.GetReserved4())
	hx("qe_report.report_data", qe.GetReportData())
	hx("qe_report_signature", qc.GetQeReportSignature())
	add("qe_auth_data.size", strconv.FormatUint(uint64(qc.GetQeAuthData().GetParsedDataSize()), 10))
	hx("qe_auth_data.data", qc.GetQeAuthData().GetData())
	chainData := qc.GetPckCertificateChainData()
	add("pck_cert_chain.type", strconv.FormatUint(uint64(chainData.GetCertificateDataType()), 10))
	add("pck_cert_chain.size", strconv.FormatUint(uint64(chainData.GetSize()), 10))
	if chain, err := verify.ExtractChainFromQuote(q); err != nil {
		add("pck_cert_chain.error", err.Error())
	} else {
		describeCert(add, "pck_cert_chain.pck", chain.PCKCertificate)
		if ext, err := pcs.PckCertificateExtensions(chain.PCKCertificate); err != nil {
			add("pck_cert_chain.pck.extensions.error", err.Error())
		} else {
			add("pck_cert_chain.pck.fmspc", ext.FMSPC)
			add("pck_cert_chain.pck.pceid", ext.PCEID)
			add("pck_cert_chain.pck.ppid", ext.PPID)
			add("pck_cert_chain.pck.tcb.pce_svn", strconv.Itoa(int(ext.TCB.PCESvn)))
			hx("pck_cert_chain.pck.tcb.cpu_svn", ext.TCB.CPUSvn)
		}
		describeCert(add, "pck_cert_chain.intermediate", chain.IntermediateCertificate)
		describeCert(add, "pck_cert_chain.root", chain.RootCertificate)
	}
	add("extra_bytes.size", strconv.Itoa(len(q.GetExtraBytes())))
	if len(q.GetExtraBytes()) > 0 {
		hx("extra_bytes", q.GetExtraBytes())
	}
	return out, nil
}

func describeCert(add func(string, string), prefix string, c *x509.Certificate) {
	if c == nil {
		add(prefix, "missing")
		return
	}
	sum := sha256.Sum256(c.Raw)
	add(prefix+".subject", c.Subject.String())
	add(prefix+".issuer", c.Issuer.String())
	add(prefix+".serial", c.SerialNumber.Text(16))
	add(prefix+".not_before", c.NotBefore.UTC().Format(time.RFC3339))
	add(prefix+".not_after", c.NotAfter.UTC().Format(time.RFC3339))
	add(prefix+".sha256", hex.EncodeToString(sum[:]))
}

func describeTDAttributes(b []byte) string {
	if len(b) != 8 {
		return hex.EncodeToString(b)
	}
	v := binary.LittleEndian.Uint64(b)
	var set []string
	for bit := uint(0); bit < 64; bit++ {
		if v&(1<<bit) == 0 {
			continue
		}
		if name, ok := tdAttributeBits[bit]; ok {
			set = append(set, name)
		} else {
			set = append(set, "bit "+strconv.Itoa(int(bit)))
		}
	}
	flags := "none"
	if len(set) > 0 {
		flags = strings.Join(set, "|")
	}
	return fmt.Sprintf("%s (%s)", hex.EncodeToString(b), flags)
}

func attestationKeyType(t uint32) string {
	if t == 2 {
		return "2 (ECDSA-256 with P-256)"
	}
	return strconv.FormatUint(uint64(t), 10)
}

func teeType(t uint32) string {
	switch t {
	case 0x81:
		return "TDX"
	case 0x00:
		return "SGX"
	}
	return "unknown"
}
