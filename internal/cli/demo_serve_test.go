package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/coordinator/dashboard"
)

// TestDemoSetupServe: with --serve the demo's coordinator configuration
// has a valid dashboard section whose token file holds the printed token,
// readable by its owner only; without it there is no dashboard.
func TestDemoSetupServe(t *testing.T) {
	raw, rc, err := demoRoundConfig("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := filepath.Abs("../../data/heart-disease")
	if err != nil {
		t.Fatal(err)
	}
	for _, serve := range []bool{false, true} {
		o := demoOptions{dir: filepath.Join(t.TempDir(), "demo"), data: data, serve: serve}
		l, err := demoSetup(o, raw, rc)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := coordinator.Load(l.path("coordinator.yaml"))
		if err != nil {
			t.Fatalf("serve=%v: the demo's coordinator configuration: %v", serve, err)
		}
		if !serve {
			if cfg.Dashboard != nil || l.dashToken != "" {
				t.Errorf("without --serve the demo configures a dashboard: %+v", cfg.Dashboard)
			}
			continue
		}
		if cfg.Dashboard == nil || cfg.Dashboard.Listen != l.dashAddr {
			t.Fatalf("dashboard section %+v, want listen %s", cfg.Dashboard, l.dashAddr)
		}
		st, err := os.Stat(cfg.Dashboard.TokenFile)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("token file mode %04o, want 0600", st.Mode().Perm())
		}
		tok, generated, err := dashboard.LoadToken(*cfg.Dashboard)
		if err != nil || generated != "" || !tok.Matches(l.dashToken) {
			t.Errorf("the coordinator would not accept the printed token: err=%v generated=%q", err, generated)
		}
	}
}
