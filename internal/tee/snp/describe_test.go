package snp_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/snp/snptest"
)

func TestDescribe(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	rd := rdFor("describe")
	g := f.Guest()
	g.GuestSVN = 3
	fields, err := snp.Describe(f.Evidence(t, g, rd).Raw)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var names []string
	for _, fl := range fields {
		if _, dup := got[fl.Name]; dup {
			t.Errorf("field %q twice", fl.Name)
		}
		got[fl.Name] = fl.Value
		names = append(names, fl.Name)
	}
	want := map[string]string{
		"version":           "3",
		"guest_svn":         "3",
		"policy":            "0x30000 (abi>=0.0, smt, debug off)",
		"vmpl":              "0",
		"signature_algo":    "1 (ECDSA P-384 with SHA-384)",
		"report_data":       hex.EncodeToString(rd[:]),
		"measurement":       hex.EncodeToString(snptest.DefaultMeasurement[:]),
		"reported_tcb":      "0xd10e000000000003 (bootloader=3 tee=0 snp=14 microcode=209)",
		"chip_id":           hex.EncodeToString(f.HWID[:]),
		"platform_info":     "0x1 (smt_enabled)",
		"signer_info":       "0x0 (signing key VCEK, chip id masked false, author key false)",
		"cpuid_fms":         "family 0x19 model 0x1 stepping 0x1 (Milan-B1)",
		"current_version":   "1.55 build 21",
		"committed_version": "1.55 build 21",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	for _, k := range []string{"family_id", "image_id", "current_tcb", "host_data", "id_key_digest", "author_key_digest",
		"report_id", "report_id_ma", "committed_tcb", "launch_tcb", "launch_mit_vector", "current_mit_vector", "signature"} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %s missing (have %v)", k, names)
		}
	}
	if !strings.Contains(got["cert.vcek"], `subject "SEV-VCEK", issuer "SEV-Milan"`) || !strings.Contains(got["cert.ark"], `"ARK-Milan"`) {
		t.Errorf("certificates: vcek %q ark %q", got["cert.vcek"], got["cert.ark"])
	}

	g.Policy |= 1 << 19
	fields, err = snp.Describe(f.Evidence(t, g, rd).Raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range fields {
		if fl.Name == "policy" && !strings.Contains(fl.Value, "DEBUG") {
			t.Errorf("debug policy shown as %q", fl.Value)
		}
	}
}

func TestDescribeRefusesGarbage(t *testing.T) {
	for _, raw := range [][]byte{nil, make([]byte, 10), make([]byte, snp.MaxEvidenceSize+1), []byte(strings.Repeat("x", 2000))} {
		if fields, err := snp.Describe(raw); err == nil {
			t.Errorf("Describe(%d bytes) = %v", len(raw), fields)
		}
	}
}
