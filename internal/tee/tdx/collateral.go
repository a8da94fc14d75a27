package tdx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/go-tdx-guest/verify/trust"
)

// Limits on fetching collateral.
const (
	// maxCollateralBody bounds one response from Intel PCS (TCB info, QE
	// identity and the CRLs are each a few KiB).
	maxCollateralBody = 1 << 20
	// fetchTimeout bounds one fetch when the caller's context has no
	// earlier deadline.
	fetchTimeout = 30 * time.Second
)

// httpsGetter fetches collateral over HTTPS with a timeout and a size limit.
// (The library's default getter retries for two minutes and reads bodies
// without limit.)
type httpsGetter struct {
	client *http.Client
}

func newHTTPSGetter() *httpsGetter {
	return &httpsGetter{client: &http.Client{Timeout: fetchTimeout}}
}

// Get implements trust.HTTPSGetter.
func (g *httpsGetter) Get(u string) (map[string][]string, []byte, error) {
	return g.GetContext(context.Background(), u)
}

// GetContext implements trust.ContextHTTPSGetter.
func (g *httpsGetter) GetContext(ctx context.Context, u string) (map[string][]string, []byte, error) {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme != "https" {
		return nil, nil, fmt.Errorf("refusing to fetch collateral from %q: not an https URL", u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("fetching %s: HTTP status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCollateralBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("fetching %s: %v", u, err)
	}
	if len(body) > maxCollateralBody {
		return nil, nil, fmt.Errorf("fetching %s: response larger than %d bytes", u, maxCollateralBody)
	}
	return resp.Header, body, nil
}

// collateralCache reuses collateral responses for up to maxAge, in memory
// and, if dir is set, on disk. It caches only successful responses and
// never serves a stale one: when a refetch fails the fetch error is
// returned, and verification fails closed.
//
// The cache is not trusted: the library verifies every response (Intel's
// signature over TCB info and QE identity, the CRL signatures, nextUpdate)
// whether it came from the network or from here.
type collateralCache struct {
	base   trust.HTTPSGetter
	dir    string
	maxAge time.Duration
	now    func() time.Time

	mu  sync.Mutex
	mem map[string]cachedResponse
	// fetches counts calls to base (tests).
	fetches int
}

type cachedResponse struct {
	URL       string              `json:"url"`
	FetchedAt time.Time           `json:"fetched_at"`
	Header    map[string][]string `json:"header"`
	Body      []byte              `json:"body"`
}

func newCollateralCache(base trust.HTTPSGetter, dir string, maxAge time.Duration, now func() time.Time) (*collateralCache, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("tdx: collateral.cache_dir: %v", err)
		}
		f, err := os.CreateTemp(dir, ".probe-*")
		if err != nil {
			return nil, fmt.Errorf("tdx: collateral.cache_dir %s is not writable: %v", dir, err)
		}
		name := f.Name()
		f.Close()
		os.Remove(name)
	}
	return &collateralCache{base: base, dir: dir, maxAge: maxAge, now: now, mem: make(map[string]cachedResponse)}, nil
}

// Get implements trust.HTTPSGetter.
func (c *collateralCache) Get(u string) (map[string][]string, []byte, error) {
	return c.GetContext(context.Background(), u)
}

// GetContext implements trust.ContextHTTPSGetter.
func (c *collateralCache) GetContext(ctx context.Context, u string) (map[string][]string, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if r, ok := c.mem[u]; ok && c.fresh(r, now) {
		return cloneHeader(r.Header), append([]byte(nil), r.Body...), nil
	}
	if r, ok := c.readDisk(u); ok && c.fresh(r, now) {
		c.mem[u] = r
		return cloneHeader(r.Header), append([]byte(nil), r.Body...), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c.fetches++
	header, body, err := trust.GetWith(ctx, c.base, u)
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxCollateralBody {
		return nil, nil, fmt.Errorf("fetching %s: response larger than %d bytes", u, maxCollateralBody)
	}
	r := cachedResponse{URL: u, FetchedAt: now, Header: cloneHeader(header), Body: append([]byte(nil), body...)}
	c.mem[u] = r
	c.writeDisk(r)
	return header, body, nil
}

func (c *collateralCache) fresh(r cachedResponse, now time.Time) bool {
	age := now.Sub(r.FetchedAt)
	// A response "fetched" in the future (clock change, edited file) is
	// not trusted to be fresh.
	return age >= -time.Minute && age < c.maxAge
}

func (c *collateralCache) path(u string) string {
	sum := sha256.Sum256([]byte(u))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:])+".json")
}

// readDisk returns the cached response for u; a missing, unreadable,
// oversized or mismatched file is a miss.
func (c *collateralCache) readDisk(u string) (cachedResponse, bool) {
	if c.dir == "" {
		return cachedResponse{}, false
	}
	f, err := os.Open(c.path(u))
	if err != nil {
		return cachedResponse{}, false
	}
	defer f.Close()
	// base64 inflates the body by 4/3; headers are small.
	data, err := io.ReadAll(io.LimitReader(f, 2*maxCollateralBody+1))
	if err != nil || len(data) > 2*maxCollateralBody {
		return cachedResponse{}, false
	}
	var r cachedResponse
	if err := json.Unmarshal(data, &r); err != nil || r.URL != u || len(r.Body) > maxCollateralBody {
		return cachedResponse{}, false
	}
	return r, true
}

// writeDisk stores r atomically. Failure only costs a refetch later: the
// directory was checked to be writable when the verifier was built.
func (c *collateralCache) writeDisk(r cachedResponse) {
	if c.dir == "" {
		return
	}
	data, err := json.Marshal(r)
	if err != nil {
		return
	}
	f, err := os.CreateTemp(c.dir, ".collateral-*")
	if err != nil {
		return
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return
	}
	if err := os.Rename(tmp, c.path(r.URL)); err != nil {
		os.Remove(tmp)
	}
}

func cloneHeader(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, v := range h {
		out[k] = append([]string(nil), v...)
	}
	return out
}
