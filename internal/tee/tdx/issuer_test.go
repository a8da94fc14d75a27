package tdx

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/go-tdx-guest/testing/testdata"

	"github.com/confed/confed/internal/tee"
)

func TestNewIssuerWithoutTDX(t *testing.T) {
	if _, err := os.Stat(ConfigfsTSMReportPath); err == nil {
		t.Skipf("%s exists: this machine may be a confidential guest", ConfigfsTSMReportPath)
	}
	_, err := NewIssuer()
	mustContain(t, err, ConfigfsTSMReportPath+" does not exist")
}

func TestProbeConfigfsTSM(t *testing.T) {
	err := probeConfigfsTSM(t.TempDir() + "/no/such/dir")
	mustContain(t, err, "/no/such/dir does not exist (not a TDX guest")
}

// fakeProvider answers like configfs-tsm would.
type fakeProvider struct {
	raw []byte
	err error
}

func (f fakeProvider) GetRawQuote([64]byte) ([]uint8, error) { return f.raw, f.err }

func TestIssue(t *testing.T) {
	rd := sampleRD(t)
	tests := []struct {
		name    string
		qp      fakeProvider
		rd      [64]byte
		wantErr string
	}{
		{name: "sample", qp: fakeProvider{raw: testdata.RawQuote}, rd: rd},
		{name: "quote for other report data", qp: fakeProvider{raw: testdata.RawQuote}, rd: [64]byte{1}, wantErr: "quote for other report data"},
		{name: "provider error", qp: fakeProvider{err: errors.New("generation mismatch")}, rd: rd, wantErr: "tdx: getting a quote through configfs-tsm: generation mismatch"},
		{name: "garbage", qp: fakeProvider{raw: []byte("not a quote")}, rd: rd, wantErr: "unusable quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := &Issuer{qp: tt.qp}
			ev, err := iss.Issue(context.Background(), tt.rd)
			mustContain(t, err, tt.wantErr)
			if err == nil && (ev.Kind != tee.KindTDX || !bytes.Equal(ev.Raw, testdata.RawQuote)) {
				t.Fatalf("evidence %q %d bytes", ev.Kind, len(ev.Raw))
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Issuer{qp: fakeProvider{raw: testdata.RawQuote}}).Issue(ctx, rd); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if k := (&Issuer{}).Kind(); k != tee.KindTDX {
		t.Fatalf("kind %q", k)
	}
}

// TestIssuedEvidenceVerifies passes issued evidence to the verifier, the
// way the aggregator checks its own evidence at start-up.
func TestIssuedEvidenceVerifies(t *testing.T) {
	rd := sampleRD(t)
	ev, err := (&Issuer{qp: fakeProvider{raw: testdata.RawQuote}}).Issue(context.Background(), rd)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(offlinePolicy(), Options{Now: fixedNow(sampleNow)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), ev, rd); err != nil {
		t.Fatal(err)
	}
}
