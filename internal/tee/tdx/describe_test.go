package tdx

import (
	"strings"
	"testing"

	"github.com/google/go-tdx-guest/testing/testdata"
)

func TestDescribe(t *testing.T) {
	fields, err := Describe(testdata.RawQuote)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fields {
		if _, dup := got[f.Name]; dup {
			t.Errorf("field %q listed twice", f.Name)
		}
		got[f.Name] = f.Value
	}
	want := map[string]string{
		"header.version":               "4",
		"header.tee_type":              "0x00000081 (TDX)",
		"header.attestation_key_type":  "2 (ECDSA-256 with P-256)",
		"body.mr_td":                   sampleMRTD,
		"body.tee_tcb_svn":             sampleTEETCBSVN,
		"body.td_attributes":           "0000004000000000 (PKS)",
		"body.rtmr0":                   sampleRTMRs[0],
		"body.rtmr3":                   sampleRTMRs[3],
		"body.report_data":             sampleReportData,
		"pck_cert_chain.root.subject":  "CN=Intel SGX Root CA,O=Intel Corporation,L=Santa Clara,ST=CA,C=US",
		"pck_cert_chain.root.sha256":   IntelSGXRootCAFingerprint,
		"pck_cert_chain.pck.not_after": "2029-09-20T13:20:31Z",
		"pck_cert_chain.pck.fmspc":     "50806f000000",
		"extra_bytes.size":             "39",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	// Every field of the quote structure is listed.
	for _, k := range []string{
		"header.qe_svn", "header.pce_svn", "header.qe_vendor_id", "header.user_data",
		"body.mr_seam", "body.mr_signer_seam", "body.seam_attributes", "body.xfam", "body.mr_config_id",
		"body.mr_owner", "body.mr_owner_config", "body.rtmr1", "body.rtmr2",
		"signed_data.size", "signed_data.signature", "signed_data.ecdsa_attestation_key",
		"certification_data.type", "certification_data.size",
		"qe_report.cpu_svn", "qe_report.misc_select", "qe_report.reserved1", "qe_report.attributes",
		"qe_report.mr_enclave", "qe_report.reserved2", "qe_report.mr_signer", "qe_report.reserved3",
		"qe_report.isv_prod_id", "qe_report.isv_svn", "qe_report.reserved4", "qe_report.report_data",
		"qe_report_signature", "qe_auth_data.size", "qe_auth_data.data", "pck_cert_chain.type", "pck_cert_chain.size",
		"pck_cert_chain.pck.subject", "pck_cert_chain.intermediate.subject", "extra_bytes",
	} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
}

func TestDescribeTDAttributes(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0}, "0000000000000000 (none)"},
		{[]byte{1, 0, 0, 0x50, 0, 0, 0, 0x80}, "0100005000000080 (DEBUG|SEPT_VE_DISABLE|PKS|PERFMON)"},
		{[]byte{0, 2, 0, 0, 0, 0, 0, 0}, "0002000000000000 (bit 9)"},
		{[]byte{1}, "01"},
	}
	for _, tt := range tests {
		if got := describeTDAttributes(tt.in); got != tt.want {
			t.Errorf("describeTDAttributes(%x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribeRefusesGarbage(t *testing.T) {
	for _, raw := range [][]byte{nil, []byte("quote"), testdata.RawQuote[:1500]} {
		if _, err := Describe(raw); err == nil || !strings.HasPrefix(err.Error(), "tdx: malformed quote") {
			t.Errorf("Describe(%d bytes) = %v", len(raw), err)
		}
	}
}
