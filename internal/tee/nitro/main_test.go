package nitro

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"
)

// sampleTime is when the real sample document was issued (its timestamp);
// its signing certificate is valid for a few hours from then only.
var sampleTime = time.Date(2024, time.September, 7, 14, 37, 39, 545000000, time.UTC)

func sampleDoc(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/nitro_attestation.b64")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
