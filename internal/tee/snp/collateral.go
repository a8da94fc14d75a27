package snp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-sev-guest/verify/trust"
)

// maxCollateralSize bounds one key-server response (certificates and CRLs
// are a few KiB).
const maxCollateralSize = 1 << 20

// crlProductLine returns the product line of an AMD key-server CRL URL
// (https://kdsintf.amd.com/{vcek,vlek}/v1/<line>/crl).
func crlProductLine(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 4 || parts[3] != "crl" {
		return "", false
	}
	return parts[2], true
}

// cachingGetter caches key-server responses by URL, in memory and, if dir
// is set, on disk. Certificates (VCEK, VLEK, cert_chain) are cached for
// ever; CRLs for maxAge. Only successful responses are cached.
type cachingGetter struct {
	next   trust.HTTPSGetter
	dir    string
	maxAge time.Duration
	clock  func() time.Time

	mu  sync.Mutex
	mem map[string]cached
}

type cached struct {
	body []byte
	at   time.Time
}

func newCachingGetter(next trust.HTTPSGetter, dir string, maxAge time.Duration) (*cachingGetter, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sev-snp: collateral.cache_dir: %v", err)
		}
	}
	return &cachingGetter{next: next, dir: dir, maxAge: maxAge, clock: time.Now, mem: map[string]cached{}}, nil
}

// Get implements trust.HTTPSGetter.
func (g *cachingGetter) Get(url string) ([]byte, error) {
	return g.GetContext(context.Background(), url)
}

// GetContext implements trust.ContextHTTPSGetter.
func (g *cachingGetter) GetContext(ctx context.Context, url string) ([]byte, error) {
	if b, ok := g.lookup(url); ok {
		return b, nil
	}
	b, err := trust.GetWith(ctx, g.next, url)
	if err != nil {
		return nil, err
	}
	if len(b) > maxCollateralSize {
		return nil, fmt.Errorf("response from %s is %d bytes, more than %d", url, len(b), maxCollateralSize)
	}
	g.store(url, b)
	return b, nil
}

func (g *cachingGetter) fresh(url string, at time.Time) bool {
	if _, isCRL := crlProductLine(url); !isCRL {
		return true
	}
	return g.clock().Sub(at) < g.maxAge
}

func (g *cachingGetter) lookup(url string) ([]byte, bool) {
	g.mu.Lock()
	c, ok := g.mem[url]
	g.mu.Unlock()
	if ok && g.fresh(url, c.at) {
		return c.body, true
	}
	if g.dir == "" {
		return nil, false
	}
	path := g.path(url)
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxCollateralSize || !g.fresh(url, st.ModTime()) {
		return nil, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	g.mu.Lock()
	g.mem[url] = cached{body: b, at: st.ModTime()}
	g.mu.Unlock()
	return b, true
}

func (g *cachingGetter) store(url string, b []byte) {
	now := g.clock()
	g.mu.Lock()
	g.mem[url] = cached{body: b, at: now}
	g.mu.Unlock()
	if g.dir != "" {
		// A cache that cannot be written only costs a fetch next time.
		_ = writeFileAtomic(g.path(url), b)
	}
}

// path is the cache file of url: the SHA-256 of the URL, so that any URL
// maps to one safe file name.
func (g *cachingGetter) path(url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(g.dir, hex.EncodeToString(sum[:]))
}

func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// offlineGetter never touches the network: it serves only the CRLs of the
// collateral bundle.
type offlineGetter struct {
	crls map[string][]byte // product line → DER
}

// errOffline is returned for every URL the offline getter cannot serve.
var errOffline = errors.New("offline mode: not fetching from AMD's key server")

func (g offlineGetter) Get(url string) ([]byte, error) {
	if line, ok := crlProductLine(url); ok {
		if crl, ok := g.crls[line]; ok {
			return crl, nil
		}
		return nil, fmt.Errorf("%w: collateral.bundle has no CRL for %s (%s)", errOffline, line, url)
	}
	return nil, fmt.Errorf("%w: %s", errOffline, url)
}

// readLimited reads at most limit bytes of path.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}
