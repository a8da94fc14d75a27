package snp_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/snp/snptest"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/google/go-sev-guest/kds"
)

// failGetter fails the test on any fetch: offline means offline.
type failGetter struct{ t *testing.T }

func (g failGetter) Get(url string) ([]byte, error) {
	g.t.Errorf("offline verifier fetched %s", url)
	return nil, os.ErrPermission
}

func writeBundle(t *testing.T, pem []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "amd-bundle.pem")
	if err := os.WriteFile(path, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOffline(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	other := snptest.New(t, snptest.Options{IndependentKeys: true})
	rd := rdFor("offline")
	full := f.BundlePEM()
	// BundlePEM holds VCEK, VLEK, ASK, ASVK, ARK, CRL: keep ARK and CRL.
	arkAndCRL := cutPEMBlocks(t, full, 4)

	cases := []struct {
		name     string
		guest    func(*snptest.Guest)
		bundle   []byte
		checkCRL bool
		wantErr  string // "" = accepted
	}{
		{name: "certificate table only, revocations off", checkCRL: false},
		{name: "certificate table, CRL from bundle", bundle: full, checkCRL: true},
		{name: "VCEK from bundle", guest: func(g *snptest.Guest) { g.OmitCertTable = true }, bundle: full, checkCRL: true},
		{name: "VLEK from bundle", guest: func(g *snptest.Guest) { g.OmitCertTable = true; g.VLEK = true }, bundle: full, checkCRL: true},
		{name: "VCEK nowhere", guest: func(g *snptest.Guest) { g.OmitCertTable = true }, bundle: arkAndCRL, checkCRL: true,
			wantErr: "sev-snp: certificate chain: missing VCEK certificate"},
		{name: "VCEK of another TCB in bundle", guest: func(g *snptest.Guest) {
			g.OmitCertTable = true
			lower := snptest.DefaultTCB
			lower.Microcode--
			g.ReportedTCB = &lower
		}, bundle: full, checkCRL: true, wantErr: "sev-snp: certificate chain: missing VCEK certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, p, o := f.Guest(), f.Policy(), f.VerifierOptions()
			if tc.guest != nil {
				tc.guest(&g)
			}
			p.Collateral.Offline = true
			p.Collateral.CheckRevocations = &tc.checkCRL
			if tc.bundle != nil {
				p.Collateral.Bundle = writeBundle(t, tc.bundle)
			}
			o.Getter = failGetter{t}
			_, err := newVerifier(t, p, o).Verify(ctx, f.Evidence(t, g, rd), rd)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}

	t.Run("bundle from another chain", func(t *testing.T) {
		p := f.Policy()
		p.Collateral = snp.Collateral{Offline: true, Bundle: writeBundle(t, other.BundlePEM())}
		_, err := snp.NewVerifier(p, f.VerifierOptions())
		if err == nil || !strings.Contains(err.Error(), "collateral.bundle: ARK") || !strings.Contains(err.Error(), "not one of the trusted AMD roots") {
			t.Fatalf("NewVerifier: %v", err)
		}
	})
	t.Run("no CRL in the bundle", func(t *testing.T) {
		p := f.Policy()
		noCRL := full[:strings.Index(string(full), "-----BEGIN X509 CRL")]
		p.Collateral = snp.Collateral{Offline: true, Bundle: writeBundle(t, noCRL)}
		_, err := snp.NewVerifier(p, f.VerifierOptions())
		if err == nil || !strings.Contains(err.Error(), "collateral.check_revocations: offline mode needs AMD's CRL") {
			t.Fatalf("NewVerifier: %v", err)
		}
	})
	for name, content := range map[string]string{
		"not PEM":       "hello",
		"foreign block": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"bad cert":      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		t.Run("bundle "+name, func(t *testing.T) {
			p := f.Policy()
			p.Collateral = snp.Collateral{Offline: true, Bundle: writeBundle(t, []byte(content))}
			if _, err := snp.NewVerifier(p, f.VerifierOptions()); err == nil || !strings.Contains(err.Error(), "sev-snp: collateral.bundle") {
				t.Fatalf("NewVerifier: %v", err)
			}
		})
	}
	t.Run("missing bundle file", func(t *testing.T) {
		p := f.Policy()
		p.Collateral = snp.Collateral{Offline: true, Bundle: filepath.Join(t.TempDir(), "nope.pem")}
		if _, err := snp.NewVerifier(p, f.VerifierOptions()); err == nil || !strings.Contains(err.Error(), "nope.pem") {
			t.Fatalf("NewVerifier: %v", err)
		}
	})
}

// cutPEMBlocks returns the PEM blocks of data from index from on.
func cutPEMBlocks(t *testing.T, data []byte, from int) []byte {
	t.Helper()
	s := string(data)
	for range from {
		i := strings.Index(s, "-----END ")
		if i < 0 {
			t.Fatal("not enough PEM blocks")
		}
		s = s[i+len("-----END "):]
		s = s[strings.Index(s, "\n")+1:]
	}
	return []byte(s)
}

func count(urls []string, match func(string) bool) int {
	n := 0
	for _, u := range urls {
		if match(u) {
			n++
		}
	}
	return n
}

func isCRL(u string) bool  { return strings.HasSuffix(u, "/crl") }
func isVCEK(u string) bool { return strings.Contains(u, "SPL=") }

// TestCollateralCache: VCEKs are fetched once and kept on disk; CRLs are
// refetched after max_age.
func TestCollateralCache(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	rd := rdFor("cache")
	g := f.Guest()
	g.OmitCertTable = true
	ev := f.Evidence(t, g, rd)
	dir := filepath.Join(t.TempDir(), "kds-cache")

	p := f.Policy()
	p.Collateral.CacheDir = dir
	v := newVerifier(t, p, f.VerifierOptions())
	for range 3 {
		if _, err := v.Verify(ctx, ev, rd); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	reqs := f.KDS.Requests()
	if n := count(reqs, isVCEK); n != 1 {
		t.Errorf("VCEK fetched %d times, want 1: %v", n, reqs)
	}
	if n := count(reqs, isCRL); n != 1 {
		t.Errorf("CRL fetched %d times within max_age, want 1: %v", n, reqs)
	}
	files, _ := os.ReadDir(dir)
	if len(files) < 2 {
		t.Errorf("cache dir holds %d files, want the VCEK and the CRL", len(files))
	}

	// A new verifier (a restart) on the same directory fetches nothing.
	before := len(f.KDS.Requests())
	if _, err := newVerifier(t, p, f.VerifierOptions()).Verify(ctx, ev, rd); err != nil {
		t.Fatalf("Verify after restart: %v", err)
	}
	if after := f.KDS.Requests()[before:]; count(after, isVCEK)+count(after, isCRL) != 0 {
		t.Errorf("fetched again after restart: %v", after)
	}

	// With a tiny max_age the CRL is fetched every time, the VCEK never.
	p.Collateral.MaxAge = yamlcfg.Duration(time.Nanosecond)
	v = newVerifier(t, p, f.VerifierOptions())
	before = len(f.KDS.Requests())
	for range 2 {
		if _, err := v.Verify(ctx, ev, rd); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	after := f.KDS.Requests()[before:]
	if count(after, isCRL) != 2 || count(after, isVCEK) != 0 {
		t.Errorf("with max_age 1ns: %v", after)
	}

	// A CRL that became unavailable after max_age fails closed.
	f.KDS.SetCRLUnavailable(true)
	defer f.KDS.SetCRLUnavailable(false)
	if _, err := v.Verify(ctx, ev, rd); err == nil || !strings.Contains(err.Error(), "revocation check") {
		t.Errorf("stale CRL used: %v", err)
	}
}

func TestCacheDirUnusable(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := f.Policy()
	p.Collateral.CacheDir = filepath.Join(file, "sub")
	if _, err := snp.NewVerifier(p, f.VerifierOptions()); err == nil || !strings.Contains(err.Error(), "collateral.cache_dir") {
		t.Fatalf("NewVerifier: %v", err)
	}
}

// The fake key server serves the URLs the real one would.
func TestFakeKeyServerURLs(t *testing.T) {
	f := snptest.New(t, snptest.Options{})
	for _, u := range []string{
		kds.CrlLinkByRole("Milan", "ARK"),
		kds.VCEKCertURL("Milan", f.HWID[:], kds.TCBVersion(f.TCB.Version())),
	} {
		if _, err := f.KDS.Get(u); err != nil {
			t.Errorf("Get(%s): %v", u, err)
		}
	}
	if !slices.ContainsFunc(f.KDS.Requests(), isCRL) {
		t.Error("requests not recorded")
	}
}
