package snp_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/snp/snptest"
	"github.com/google/go-sev-guest/abi"
	test "github.com/google/go-sev-guest/testing"
)

func TestNewIssuerWithoutHardware(t *testing.T) {
	for _, p := range snp.GuestPaths {
		if _, err := os.Stat(p); err == nil {
			t.Skipf("%s exists: this machine may be an SEV-SNP guest", p)
		}
	}
	i, err := snp.NewIssuer()
	if err == nil {
		t.Fatalf("NewIssuer succeeded without SEV-SNP: %v", i)
	}
	for _, want := range []string{"sev-snp", "/sys/kernel/config/tsm/report", "/dev/sev-guest", "neither exists"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestIssuer(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	i := f.Issuer()
	if i.Kind() != tee.KindSEVSNP {
		t.Errorf("Kind %q", i.Kind())
	}
	rd := rdFor("issue")
	ev, err := i.Issue(ctx, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != tee.KindSEVSNP || len(ev.Raw) <= abi.ReportSize || string(ev.Raw[0x50:0x90]) != string(rd[:]) {
		t.Errorf("evidence %q, %d bytes", ev.Kind, len(ev.Raw))
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := i.Issue(cancelled, rd); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Issue: %v", err)
	}
}

type fixedProvider struct {
	raw []byte
	err error
}

func (p fixedProvider) GetRawQuote([64]byte) ([]byte, error) { return p.raw, p.err }

func TestIssuerRefusesBadQuotes(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	rd := rdFor("wanted")
	otherRaw, err := f.Quote(f.Guest(), rdFor("other"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		qp   fixedProvider
		want string
	}{
		{"device error", fixedProvider{err: errors.New("EIO")}, "sev-snp: getting an attestation report: EIO"},
		{"short", fixedProvider{raw: make([]byte, 100)}, "shorter than a report"},
		{"huge", fixedProvider{raw: make([]byte, snp.MaxEvidenceSize+1)}, "more than verifiers accept"},
		{"other report data", fixedProvider{raw: otherRaw}, "for other report data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := snp.NewIssuerWithProvider(tc.qp).Issue(ctx, rd)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Issue = %v, %v; want error %q", ev, err, tc.want)
			}
		})
	}
}

// TestGoSevGuestQuoteProvider: evidence from go-sev-guest's own fake quote
// provider (which signs with the fake chain) verifies.
func TestGoSevGuestQuoteProvider(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	rd := rdFor("go-sev-guest fake")
	// The report the device will sign: the fake guest's, from Quote.
	raw, err := f.Quote(f.Guest(), rd)
	if err != nil {
		t.Fatal(err)
	}
	tc := test.TestCase{Name: "confed", Input: rd}
	copy(tc.Output[:], raw[:abi.ReportSize]) // the device's response starts with the report
	qp, err := test.TcQuoteProvider([]test.TestCase{tc},
		&test.DeviceOptions{Signer: f.Signer, Product: f.Product})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := snp.NewIssuerWithProvider(qp).Issue(ctx, rd)
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.Raw[:0x2A0]) != string(raw[:0x2A0]) {
		t.Error("go-sev-guest's provider changed the signed part")
	}
	c, err := newVerifier(t, f.Policy(), f.VerifierOptions()).Verify(ctx, ev, rd)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Details["signer"] != "vcek" {
		t.Errorf("claims %+v", c)
	}
	// It answers only report data registered up front.
	if _, err := snp.NewIssuerWithProvider(qp).Issue(ctx, rdFor("unregistered")); err == nil {
		t.Error("go-sev-guest's fake answered unregistered report data")
	}
}
