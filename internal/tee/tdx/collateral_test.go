package tdx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tdxtest "github.com/google/go-tdx-guest/testing"
	"github.com/google/go-tdx-guest/testing/testdata"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/yamlcfg"
)

// countingGetter serves go-tdx-guest's sample collateral (or fails) and
// counts requests.
type countingGetter struct {
	mu   sync.Mutex
	urls []string
	fail error
	// failOnly, if set, limits failures to URLs containing it.
	failOnly string
}

func (g *countingGetter) Get(u string) (map[string][]string, []byte, error) {
	g.mu.Lock()
	g.urls = append(g.urls, u)
	g.mu.Unlock()
	if g.fail != nil && strings.Contains(u, g.failOnly) {
		return nil, nil, g.fail
	}
	return tdxtest.TestGetter.Get(u)
}

func (g *countingGetter) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.urls)
}

func onlinePolicy(dir string, revocations bool) Policy {
	return Policy{MRTD: []string{sampleMRTD}, Collateral: CollateralPolicy{CacheDir: dir, CheckRevocations: revocations, MaxAge: yamlcfg.Duration(time.Hour)}}
}

// The sample collateral does not list the sample quote's TCB level (its
// TCB levels were updated after the quote was recorded), so a verification
// that gets as far as the TCB status check fails there; go-tdx-guest's own
// TestNegativeRawQuoteVerifyWithCollateral expects the same. There is no
// matching genuine collateral and no fake TDX signer, so these tests show
// that collateral is fetched, checked, cached and that failures fail
// closed, not an accepted online verification.
const tcbStatusFailure = "TCB status check"

func TestCollateralIsCheckedAndFailsClosed(t *testing.T) {
	rd := sampleRD(t)
	ev := tee.Evidence{Kind: tee.KindTDX, Raw: testdata.RawQuote}
	tests := []struct {
		name        string
		revocations bool
		fail        error
		failOnly    string
		wantErr     string
		wantURLs    []string
	}{
		{name: "TCB status checked", wantErr: tcbStatusFailure, wantURLs: []string{"/tdx/certification/v4/tcb?fmspc=", "/tdx/certification/v4/qe/identity"}},
		{name: "CRLs fetched with check_revocations", revocations: true, wantErr: tcbStatusFailure, wantURLs: []string{"/tcb?fmspc=", "/qe/identity", "/pckcrl?ca=platform", "IntelSGXRootCA.der"}},
		{name: "fetch failure fails closed", fail: errors.New("network unreachable"), wantErr: "network unreachable"},
		{name: "CRL fetch failure fails closed", revocations: true, fail: errors.New("network unreachable"), failOnly: "pckcrl", wantErr: "unable to receive PCK CRL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &countingGetter{fail: tt.fail, failOnly: tt.failOnly}
			v, err := NewVerifier(onlinePolicy("", tt.revocations), Options{Now: fixedNow(sampleNow), Getter: g})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), ev, rd)
			mustContain(t, err, tt.wantErr)
			got := strings.Join(g.urls, " ")
			for _, w := range tt.wantURLs {
				if !strings.Contains(got, w) {
					t.Errorf("fetched %v, want a URL containing %q", g.urls, w)
				}
			}
		})
	}
}

func TestCollateralCache(t *testing.T) {
	rd := sampleRD(t)
	ev := tee.Evidence{Kind: tee.KindTDX, Raw: testdata.RawQuote}
	dir := t.TempDir()
	now := sampleNow
	clock := func() time.Time { return now }

	g := &countingGetter{}
	v, err := NewVerifier(onlinePolicy(dir, true), Options{Now: clock, Getter: g})
	if err != nil {
		t.Fatal(err)
	}
	verifyOnce := func(v *Verifier) {
		t.Helper()
		if _, err := v.Verify(context.Background(), ev, rd); err == nil || !strings.Contains(err.Error(), tcbStatusFailure) {
			t.Fatalf("want the TCB status failure, got %v", err)
		}
	}
	verifyOnce(v)
	first := g.count()
	if first != 4 {
		t.Fatalf("first verification fetched %d responses, want 4: %v", first, g.urls)
	}
	verifyOnce(v)
	if g.count() != first {
		t.Fatalf("second verification within max_age fetched again: %v", g.urls)
	}

	// A new verifier (a restart) with a dead network gets the same result
	// from the cache directory instead of a fetch error.
	dead := &countingGetter{fail: errors.New("network unreachable")}
	v2, err := NewVerifier(onlinePolicy(dir, true), Options{Now: clock, Getter: dead})
	if err != nil {
		t.Fatal(err)
	}
	verifyOnce(v2)
	if dead.count() != 0 {
		t.Fatalf("restarted verifier fetched despite a fresh cache: %v", dead.urls)
	}

	// Past max_age nothing stale is served: the fetch error surfaces.
	now = now.Add(time.Hour + time.Minute)
	_, err = v2.Verify(context.Background(), ev, rd)
	mustContain(t, err, "network unreachable")

	// And a working network refreshes the cache.
	verifyOnce(v)
	if g.count() != first+4 {
		t.Fatalf("expired cache was not refetched: %d fetches", g.count())
	}
}

func TestCollateralCacheIgnoresBadFiles(t *testing.T) {
	dir := t.TempDir()
	c, err := newCollateralCache(&countingGetter{}, dir, time.Hour, fixedNow(sampleNow))
	if err != nil {
		t.Fatal(err)
	}
	const u = "https://api.trustedservices.intel.com/tdx/certification/v4/qe/identity"
	for _, content := range []string{"", "{", `{"url":"https://elsewhere.example/","fetched_at":"2023-07-01T01:00:00Z","body":"AA=="}`} {
		if err := os.WriteFile(c.path(u), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.readDisk(u); ok {
			t.Errorf("cache file %q was accepted", content)
		}
	}
	if _, body, err := c.Get(u); err != nil || len(body) == 0 {
		t.Fatalf("fetch after bad cache file: %v", err)
	}
	if r, ok := c.readDisk(u); !ok || r.URL != u {
		t.Fatal("fetched response was not written to the cache")
	}
}

func TestNewVerifierRefusesUnwritableCacheDir(t *testing.T) {
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewVerifier(onlinePolicy(file+"/sub", false), Options{})
	mustContain(t, err, "collateral.cache_dir")
}

func TestHTTPSGetter(t *testing.T) {
	big := strings.Repeat("x", maxCollateralBody+1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("TCB-Info-Issuer-Chain", "chain")
			w.Write([]byte("body"))
		case "/big":
			w.Write([]byte(big))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	g := &httpsGetter{client: srv.Client()}
	tests := []struct {
		url     string
		wantErr string
	}{
		{url: srv.URL + "/ok"},
		{url: srv.URL + "/big", wantErr: "larger than"},
		{url: srv.URL + "/missing", wantErr: "HTTP status 404"},
		{url: strings.Replace(srv.URL, "https:", "http:", 1) + "/ok", wantErr: "not an https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			h, body, err := g.GetContext(context.Background(), tt.url)
			mustContain(t, err, tt.wantErr)
			if err == nil && (string(body) != "body" || h["Tcb-Info-Issuer-Chain"][0] != "chain") {
				t.Fatalf("got %q %v", body, h)
			}
		})
	}
}
