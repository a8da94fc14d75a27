package tdx

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	pb "github.com/google/go-tdx-guest/proto/tdx"
	"github.com/google/go-tdx-guest/testing/testdata"
	"google.golang.org/protobuf/proto"
)

// The sample is go-tdx-guest's recorded production quote (SPR E4). Its PCK
// leaf certificate is valid from 2022-09-20 to 2029-09-20, and the sample
// collateral that comes with it (tcbInfo, QE identity, CRLs) is valid on
// the date go-tdx-guest's own tests use.
var sampleNow = time.Date(2023, time.July, 1, 1, 0, 0, 0, time.UTC)

// Values read from the sample quote.
const (
	sampleMRTD       = "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb"
	sampleTEETCBSVN  = "03000400000000000000000000000000"
	sampleReportData = "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113"
	zero48           = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	other48          = "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
)

var sampleRTMRs = []string{
	"2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593f32a",
	"2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2cacb61",
	"8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e",
	zero48,
}

func sampleRD(t testing.TB) [64]byte {
	t.Helper()
	var rd [64]byte
	b, err := hex.DecodeString(sampleReportData)
	if err != nil || len(b) != 64 {
		t.Fatalf("bad sample report data: %v", err)
	}
	copy(rd[:], b)
	return rd
}

// sampleQuote parses a fresh copy of the sample quote.
func sampleQuote(t testing.TB) *pb.QuoteV4 {
	t.Helper()
	q, err := parseQuote(testdata.RawQuote)
	if err != nil {
		t.Fatal(err)
	}
	return proto.Clone(q).(*pb.QuoteV4)
}

// offlinePolicy accepts the sample quote without fetching collateral.
func offlinePolicy() Policy {
	return Policy{MRTD: []string{sampleMRTD}, Collateral: CollateralPolicy{Offline: true}}
}

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func mustContain(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
