package nvgpu

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"
)

// sampleTime is a fixed time at which the real sample is verified (its
// certificates are valid from 2022 to 9999).
var sampleTime = time.Date(2024, time.June, 1, 0, 0, 0, 0, time.UTC)

func sampleReport(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/hopperAttestationReport.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sampleChain(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/hopperCertChain.txt")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sampleEvidence(t testing.TB) []byte {
	t.Helper()
	e, err := Encode(sampleReport(t), sampleChain(t))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sampleNonce is the requester nonce of the real sample.
const sampleNonce = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"
