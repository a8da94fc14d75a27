package tdx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/google/go-configfs-tsm/configfs/linuxtsm"
	"github.com/google/go-configfs-tsm/report"
	"github.com/google/go-tdx-guest/client"

	"github.com/confed/confed/internal/tee"
)

// ConfigfsTSMReportPath is the Linux configfs-tsm interface through which a
// TD guest obtains quotes (Linux 6.7 and later).
const ConfigfsTSMReportPath = "/sys/kernel/config/tsm/report"

// quoteProvider is the part of client.QuoteProvider the issuer uses.
type quoteProvider interface {
	GetRawQuote(reportData [64]byte) ([]uint8, error)
}

// Issuer obtains TDX quotes through configfs-tsm. It is safe for
// concurrent use: every quote uses its own configfs entry.
type Issuer struct {
	qp quoteProvider
}

var _ tee.Issuer = (*Issuer)(nil)

// NewIssuer returns an issuer if this machine is a TDX guest whose kernel
// offers configfs-tsm, and otherwise an error that names the interface it
// looked for.
func NewIssuer() (*Issuer, error) {
	qp, err := client.GetQuoteProvider()
	if err != nil {
		return nil, fmt.Errorf("tdx: no quote provider: %v", err)
	}
	if err := probeConfigfsTSM(ConfigfsTSMReportPath); err != nil {
		return nil, err
	}
	return &Issuer{qp: qp}, nil
}

// probeConfigfsTSM checks that path exists and that its provider is
// tdx_guest. Unlike the library's IsSupported, it removes the configfs
// entry it creates for the check.
func probeConfigfsTSM(path string) error {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tdx: cannot issue TDX quotes on this machine: %s does not exist (not a TDX guest, a kernel older than 6.7 without configfs-tsm, or configfs not mounted at /sys/kernel/config)", path)
		}
		return fmt.Errorf("tdx: cannot issue TDX quotes on this machine: %v", err)
	}
	c, err := linuxtsm.MakeClient()
	if err != nil {
		return fmt.Errorf("tdx: cannot use %s: %v", path, err)
	}
	r, err := report.Create(c, &report.Request{})
	if err != nil {
		return fmt.Errorf("tdx: cannot use %s: %v", path, err)
	}
	defer r.Destroy()
	provider, err := r.ReadOption("provider")
	if err != nil {
		return fmt.Errorf("tdx: cannot use %s: %v", path, err)
	}
	if p := strings.TrimSpace(string(provider)); p != "tdx_guest" {
		return fmt.Errorf("tdx: %s is provided by %q, not tdx_guest: this is not a TDX guest", path, p)
	}
	return nil
}

// Kind implements tee.Issuer.
func (*Issuer) Kind() string { return tee.KindTDX }

// Issue implements tee.Issuer. It checks that the quote it got binds
// reportData before returning it.
func (i *Issuer) Issue(ctx context.Context, reportData [64]byte) (tee.Evidence, error) {
	if err := ctx.Err(); err != nil {
		return tee.Evidence{}, err
	}
	raw, err := i.qp.GetRawQuote(reportData)
	if err != nil {
		return tee.Evidence{}, fmt.Errorf("tdx: getting a quote through configfs-tsm: %v", err)
	}
	q, err := parseQuote(raw)
	if err != nil {
		return tee.Evidence{}, fmt.Errorf("tdx: the quote provider returned an unusable quote: %w", err)
	}
	if !bytes.Equal(q.GetTdQuoteBody().GetReportData(), reportData[:]) {
		return tee.Evidence{}, fmt.Errorf("tdx: the quote provider returned a quote for other report data")
	}
	return tee.Evidence{Kind: tee.KindTDX, Raw: bytes.Clone(raw)}, nil
}
