package tdx

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-tdx-guest/abi"
	"github.com/google/go-tdx-guest/testing/testdata"
	"github.com/google/go-tdx-guest/verify"

	"github.com/confed/confed/internal/tee"
)

const quietHelperEnv = "CONFED_TDX_QUIET_HELPER"

// TestLibraryWritesNothingToStdout runs verifications in a child process
// (go-tdx-guest's logger holds the process's real stdout, which a test
// cannot swap) and checks what the child writes. See the package doc.
func TestLibraryWritesNothingToStdout(t *testing.T) {
	if mode := os.Getenv(quietHelperEnv); mode != "" {
		quietHelper(mode)
		return
	}
	run := func(mode string) (stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestLibraryWritesNothingToStdout$")
		cmd.Env = append(os.Environ(), quietHelperEnv+"="+mode)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("helper %s: %v\nstdout: %s\nstderr: %s", mode, err, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	if out, errs := run("confed"); out != "" || errs != "" {
		t.Errorf("verifying through confed wrote output:\nstdout: %q\nstderr: %q", out, errs)
	}
	// The check above would notice the library's warning: calling the
	// library without TrustedRoots prints it.
	if out, _ := run("library-default"); !bytes.Contains([]byte(out), []byte("Using embedded Intel certificate")) {
		t.Errorf("the library's default options no longer print their warning to stdout (got %q): update the package doc", out)
	}
}

// quietHelper verifies the sample quote and exits without the test
// framework's own output.
func quietHelper(mode string) {
	now := time.Date(2023, time.July, 1, 1, 0, 0, 0, time.UTC)
	switch mode {
	case "confed":
		v, err := NewVerifier(Policy{MRTD: []string{sampleMRTD}, Collateral: CollateralPolicy{Offline: true}}, Options{Now: func() time.Time { return now }})
		if err != nil {
			os.Exit(2)
		}
		var rd [64]byte
		q, err := parseQuote(testdata.RawQuote)
		if err != nil {
			os.Exit(2)
		}
		copy(rd[:], q.GetTdQuoteBody().GetReportData())
		if _, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindTDX, Raw: testdata.RawQuote}, rd); err != nil {
			os.Exit(3)
		}
		// Refusals must be quiet too.
		rd[0] ^= 1
		if _, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindTDX, Raw: testdata.RawQuote}, rd); err == nil {
			os.Exit(3)
		}
		if _, err := Describe(testdata.RawQuote); err != nil {
			os.Exit(3)
		}
	case "library-default":
		q, err := abi.QuoteToProto(testdata.RawQuote)
		if err != nil {
			os.Exit(2)
		}
		ts := &verify.TimeSet{PckCertChain: now, TcbInfo: now, QeIdentity: now, PckCrl: now, RootCaCrl: now}
		if err := verify.TdxQuote(q, &verify.Options{Now: ts}); err != nil {
			os.Exit(3)
		}
	}
	os.Exit(0)
}
