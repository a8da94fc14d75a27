package snp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/confed/confed/internal/tee"
	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/client"
)

// GuestPaths are the guest interfaces through which go-sev-guest obtains
// reports, in the order it tries them.
var GuestPaths = []string{"/sys/kernel/config/tsm/report", "/dev/sev-guest"}

// QuoteProvider obtains a signed report binding reportData, followed by the
// host's certificate table. go-sev-guest's client.QuoteProvider and its
// fake (testing.QuoteProvider) both satisfy it.
type QuoteProvider interface {
	GetRawQuote(reportData [64]byte) ([]byte, error)
}

// Issuer issues SEV-SNP evidence from inside a guest.
type Issuer struct {
	mu sync.Mutex // one request to the secure processor at a time
	qp QuoteProvider
}

var _ tee.Issuer = (*Issuer)(nil)

// NewIssuer returns an issuer backed by this guest's SEV-SNP interface
// (configfs-tsm, else /dev/sev-guest), or an error naming the paths it
// looked for.
func NewIssuer() (*Issuer, error) {
	qp, err := client.GetQuoteProvider()
	if err != nil {
		return nil, noGuestError(err)
	}
	return NewIssuerWithProvider(qp), nil
}

// NewIssuerWithProvider returns an issuer that gets its quotes from qp (for
// example a fake in tests).
func NewIssuerWithProvider(qp QuoteProvider) *Issuer {
	return &Issuer{qp: qp}
}

func noGuestError(cause error) error {
	var present []string
	for _, p := range GuestPaths {
		if _, err := os.Stat(p); err == nil {
			present = append(present, p)
		}
	}
	what := "neither exists"
	if len(present) > 0 {
		what = strings.Join(present, " and ") + " exists but is not a usable SEV-SNP guest interface (configfs-tsm must report provider sev_guest)"
	}
	return fmt.Errorf("sev-snp: this machine is not an SEV-SNP guest: looked for %s and %s, %s (%v)",
		GuestPaths[0], GuestPaths[1], what, cause)
}

// Kind implements tee.Issuer.
func (*Issuer) Kind() string { return tee.KindSEVSNP }

// Issue implements tee.Issuer: it returns the report binding reportData and
// the host's certificate table, as one byte string.
func (i *Issuer) Issue(ctx context.Context, reportData [64]byte) (tee.Evidence, error) {
	if err := ctx.Err(); err != nil {
		return tee.Evidence{}, err
	}
	type result struct {
		raw []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		i.mu.Lock()
		defer i.mu.Unlock()
		raw, err := i.qp.GetRawQuote(reportData)
		done <- result{raw, err}
	}()
	var res result
	select {
	case <-ctx.Done():
		return tee.Evidence{}, ctx.Err()
	case res = <-done:
	}
	if res.err != nil {
		return tee.Evidence{}, fmt.Errorf("sev-snp: getting an attestation report: %w", res.err)
	}
	raw := res.raw
	switch {
	case len(raw) < abi.ReportSize:
		return tee.Evidence{}, fmt.Errorf("sev-snp: the guest interface returned %d bytes, shorter than a report (%d)", len(raw), abi.ReportSize)
	case len(raw) > MaxEvidenceSize:
		return tee.Evidence{}, fmt.Errorf("sev-snp: the guest interface returned %d bytes, more than verifiers accept (%d)", len(raw), MaxEvidenceSize)
	case !bytes.Equal(raw[reportDataOffset:reportDataOffset+len(reportData)], reportData[:]):
		return tee.Evidence{}, fmt.Errorf("sev-snp: the guest interface returned a report for other report data")
	}
	return tee.Evidence{Kind: tee.KindSEVSNP, Raw: bytes.Clone(raw)}, nil
}

// reportDataOffset is where REPORT_DATA sits in a report.
const reportDataOffset = 0x50
