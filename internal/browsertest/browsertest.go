// Package browsertest runs headless Chromium for the dashboard's browser
// tests (coordinator/dashboard and internal/e2e): finding the browser,
// starting it, running actions and saving screenshots. Only tests import
// it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of headless Chromium. When it is missing the
// test fails in CI (CI=true), where scripts/deps.sh installs it, and is
// skipped elsewhere.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed: the dashboard's browser tests need it (run scripts/deps.sh, which installs the Debian package chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Start starts the browser at path (headless, 1366×1000, accepting the
// test CA's certificates, without the sandbox when running as root) and
// returns a context for its actions that ends after timeout, and the
// function that stops it.
func Start(t testing.TB, path string, timeout time.Duration) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1366, 1000),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	tctx, tcancel := context.WithTimeout(bctx, timeout)
	return tctx, func() { tcancel(); bcancel(); acancel() }
}

// Do runs actions in the browser, failing the test with what on error.
func Do(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ScreenshotsEnv names the folder where Shot saves PNGs; a relative path
// is taken from the repository's root.
const ScreenshotsEnv = "CONFED_SCREENSHOTS"

// Shot saves a PNG of the page (or of the element sel) as name in the
// folder ScreenshotsEnv names; without it, it does nothing.
func Shot(t testing.TB, ctx context.Context, name, sel string) {
	t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		dir = filepath.Join(root, dir)
	}
	action := chromedp.CaptureScreenshot()
	if sel != "" {
		action = chromedp.Screenshot(chromedp.CSS(sel), chromedp.NodeVisible)
	}
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// repoRoot is the nearest folder above the working directory (a test's
// package folder) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
