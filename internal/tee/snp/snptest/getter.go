package snptest

import (
	"errors"
	"slices"
	"sync"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	test "github.com/google/go-sev-guest/testing"
)

// Getter is a fake AMD key server: go-sev-guest's FakeKDS (VCEK and
// cert_chain URLs) plus CRLs signed by the fake ARK. It records the URLs
// asked for and is safe for concurrent use.
type Getter struct {
	kds  *test.FakeKDS
	urls []string // the CRL URLs it serves

	mu       sync.Mutex
	crl      []byte
	crlDown  bool
	requests []string
}

// ErrCRLUnavailable is what the getter answers for a CRL while
// SetCRLUnavailable(true).
var ErrCRLUnavailable = errors.New("snptest: CRL unavailable (simulated)")

func newGetter(f *Fake) (*Getter, error) {
	fk, err := test.FakeKDSFromSigner(f.Signer)
	if err != nil {
		return nil, err
	}
	g := &Getter{kds: fk, urls: []string{
		kds.CrlLinkByKey(f.ProductLine(), abi.VcekReportSigner),
		kds.CrlLinkByKey(f.ProductLine(), abi.VlekReportSigner),
	}}
	if g.crl, err = f.makeCRL(); err != nil {
		return nil, err
	}
	return g, nil
}

// Get implements go-sev-guest's trust.HTTPSGetter.
func (g *Getter) Get(url string) ([]byte, error) {
	g.mu.Lock()
	g.requests = append(g.requests, url)
	crl, down := g.crl, g.crlDown
	g.mu.Unlock()
	if slices.Contains(g.urls, url) {
		if down {
			return nil, ErrCRLUnavailable
		}
		return crl, nil
	}
	return g.kds.Get(url)
}

// Requests returns the URLs asked for so far.
func (g *Getter) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

// SetCRLUnavailable makes CRL requests fail (true) or succeed again.
func (g *Getter) SetCRLUnavailable(down bool) {
	g.mu.Lock()
	g.crlDown = down
	g.mu.Unlock()
}

func (g *Getter) setCRL(crl []byte) {
	g.mu.Lock()
	g.crl = crl
	g.mu.Unlock()
}

func (g *Getter) currentCRL() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.crl
}
