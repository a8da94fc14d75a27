package tee

import (
	"strings"
	"testing"
)

func TestReportDataSeparatesInputs(t *testing.T) {
	cases := []struct {
		label string
		parts [][]byte
	}{
		{"a", nil},
		{"b", nil},
		{"a", [][]byte{[]byte("xy")}},
		{"a", [][]byte{[]byte("x"), []byte("y")}},
		{"a", [][]byte{[]byte("xy"), nil}},
		{"ax", [][]byte{[]byte("y")}},
	}
	seen := map[[64]byte]int{}
	for i, c := range cases {
		rd := ReportData(c.label, c.parts...)
		if j, dup := seen[rd]; dup {
			t.Errorf("cases %d and %d give the same report data", j, i)
		}
		seen[rd] = i
		if rd != ReportData(c.label, c.parts...) {
			t.Errorf("case %d is not deterministic", i)
		}
	}
}

func TestErrUnsupportedNamesPaths(t *testing.T) {
	for _, kind := range []string{KindSEVSNP, KindTDX, KindSGX} {
		err := ErrUnsupported(kind)
		if err == nil || !strings.Contains(err.Error(), kind) || !strings.Contains(err.Error(), "/") {
			t.Errorf("ErrUnsupported(%q) = %v: want the kind and the device paths named", kind, err)
		}
	}
	if err := ErrUnsupported("nitro-x"); err == nil || !strings.Contains(err.Error(), "unknown TEE kind") {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestErrUnsupportedVerifier(t *testing.T) {
	err := ErrUnsupportedVerifier(KindTDX)
	if err == nil || !strings.Contains(err.Error(), "no verifier for tdx") {
		t.Errorf("ErrUnsupportedVerifier(tdx) = %v", err)
	}
	if err := ErrUnsupportedVerifier("x"); err == nil || !strings.Contains(err.Error(), "unknown TEE kind") {
		t.Errorf("unknown kind: %v", err)
	}
}
