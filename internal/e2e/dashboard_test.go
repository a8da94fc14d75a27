package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/coordinator/dashboard"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/browsertest"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/participant"
)

// dashboardRounds expects four hospitals, three of which suffice: the
// fourth (switzerland) refuses the aggregator's measurement in every round,
// so each round closes at its short deadline with three updates.
var dashboardRounds = roundYAML(roundOpts{rounds: 3, expected: []string{"cleveland", "hungary", "long-beach-va", "switzerland"}, min: 3, roundDeadline: "8s"})

// TestDashboardInBrowser runs a federation whose coordinator serves the
// dashboard, and drives headless Chromium through it: log in with the
// token (keyboard only), watch the rounds arrive live, check the charts
// have data points, the INSECURE label, the refused participant's reason,
// and the round page with its verified ledger record. Requests without a
// credential are refused. With CONFED_SCREENSHOTS=dir it saves PNGs of the
// pages there (docs/img).
func TestDashboardInBrowser(t *testing.T) {
	chrome := browsertest.Chromium(t)
	t.Parallel()
	honest := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, honest, dashboardRounds)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	addr, token := f.startDashboardCoordinator(t, ctx)
	f.startAggregator(ctx)
	f.startParticipants(ctx)
	f.startRefusingParticipant(ctx, heartdisease.Hospitals[2])
	base := "https://" + addr

	checkRefused(t, f, base)

	bctx, bcancel := browsertest.Start(t, chrome, 3*time.Minute)
	defer bcancel()
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Do(t, bctx, what, actions...)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	// Keyboard only: type the token and press Enter.
	do("log in", chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="overview"]`)))
	// The page was loaded before the rounds finished: they arrive through
	// server-sent events.
	do("wait for rounds 0 to 3 to be published", chromedp.Poll[chromedp.Void](
		`document.querySelectorAll('#rounds-table tbody tr[data-state="published"]').length >= 4`,
		chromedp.WithPollingTimeout(90*time.Second)))
	do("wait for switzerland's refusal", chromedp.Poll[chromedp.Void](
		`(document.querySelector('#participants tr[data-participant="switzerland"] .problem') || {}).textContent?.includes('aggregator_refused')`,
		chromedp.WithPollingTimeout(30*time.Second)))

	points, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]int](`({
		accuracy: document.querySelectorAll('#chart-accuracy circle.pt').length,
		loss: document.querySelectorAll('#chart-loss circle.pt').length,
		norm: document.querySelectorAll('#chart-norm circle.pt').length,
		duration: document.querySelectorAll('#chart-duration rect.bar').length,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	// Rounds 2 and 3 train: three hospitals and the global model in each.
	for name, min := range map[string]int{"accuracy": 8, "loss": 8, "norm": 6, "duration": 3} {
		if points[name] < min {
			t.Errorf("%s chart has %d data points, want at least %d", name, points[name], min)
		}
	}
	if s := text("#insecure"); !strings.Contains(strings.ToLower(s), "insecure simulated tee") {
		t.Errorf("INSECURE banner says %q", s)
	}
	if s := text(`#participants tr[data-participant="switzerland"] .problem`); !strings.Contains(s, "measurement") {
		t.Errorf("switzerland's problem %q does not say that the measurement was refused", s)
	}
	if s := text("#live"); !strings.HasPrefix(s, "live") {
		t.Errorf("live indicator %q: the event stream is not connected", s)
	}
	browsertest.Shot(t, bctx, "dashboard-overview.png", "")
	browsertest.Shot(t, bctx, "dashboard-charts.png", "#training")

	do("round page", chromedp.Navigate(base+"/rounds/2"),
		chromedp.WaitVisible(chromedp.CSS(`#verify[data-ok="true"]`)))
	contributors, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`[...document.querySelectorAll('#contributions tbody tr')].map(r => r.dataset.participant + ':' + r.cells[1].textContent).join(',')`))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range honest {
		if !strings.Contains(contributors, h.Name+":included") {
			t.Errorf("round 2 contributions %q do not show %s included", contributors, h.Name)
		}
	}
	if s := text("#verify"); !strings.Contains(s, "ledger verifies") {
		t.Errorf("ledger status %q", s)
	}
	if s := text("#events"); !strings.Contains(s, "switzerland") || !strings.Contains(s, "aggregator_refused") {
		t.Errorf("round 2 events %q do not show switzerland refusing the aggregator", s)
	}
	browsertest.Shot(t, bctx, "dashboard-round.png", "body")
	// Round 3 is the last: no "Next round" link to a page that does not
	// exist; its duration runs to publication.
	do("last round page", chromedp.Navigate(base+"/rounds/3"),
		chromedp.WaitVisible(chromedp.CSS(`#verify[data-ok="true"]`)))
	links, err := chromedp.Run(bctx, chromedp.Evaluate[string](`['prev', 'next'].map(id => id + ':' + (document.getElementById(id).hidden ? 'hidden' : document.getElementById(id).getAttribute('href'))).join(' ')`))
	if err != nil || links != "prev:/rounds/2 next:hidden" {
		t.Errorf("round 3 links %q (%v), want prev:/rounds/2 next:hidden", links, err)
	}
	if s := text("#duration"); !strings.Contains(s, "opening to publication, aggregation included") {
		t.Errorf("round 3 duration %q does not say what it measures", s)
	}
	checkBackup(t, f, base, token)
	f.waitParticipants(60 * time.Second)
}

// startDashboardCoordinator runs the coordinator with a dashboard whose
// token it generates; it returns the dashboard's address and the token.
func (f *fed) startDashboardCoordinator(t *testing.T, ctx context.Context) (string, string) {
	cfg := f.coordinatorConfig()
	dlis := listen(t)
	tokenFile := filepath.Join(f.dir, "dashboard.token")
	cfg.Dashboard = &dashboard.Config{Listen: dlis.Addr().String(), TokenFile: tokenFile}
	up := make(chan net.Addr, 1)
	f.run(func() error {
		return coordinator.Run(ctx, cfg, coordinator.Options{InsecureSimulatedTEE: true, Listener: f.coordLis,
			DashboardListener: dlis, OnDashboard: func(a net.Addr) { up <- a },
			Logger: testLogger(t, "coordinator"), Tick: 20 * time.Millisecond})
	})
	select {
	case a := <-up:
		tok, err := os.ReadFile(tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		return a.String(), strings.TrimSpace(string(tok))
	case err := <-f.errs:
		t.Fatalf("coordinator: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("dashboard did not come up within 30s")
	}
	return "", ""
}

// startRefusingParticipant runs hospital h with a policy that allows
// another simulated measurement than the aggregator's: it refuses the
// aggregator every round and reports why.
func (f *fed) startRefusingParticipant(ctx context.Context, h heartdisease.Hospital) {
	cfg := participant.Default()
	cfg.AggregatorAttestation = provider.Policy{TEE: "simulated",
		Simulated: provider.SimulatedPolicy{Measurements: []string{strings.Repeat("ab", 32)}}}
	cfg.Coordinator = f.coordAddr
	cfg.Data.Path = filepath.Join(dataDir, h.File)
	cfg.TLS = f.issue(pki.RoleParticipant, h.Name)
	f.run(func() error {
		return participant.Run(ctx, cfg, participant.Options{InsecureSimulatedTEE: true, ExitWhenFinished: true,
			Logger: testLogger(f.t, h.Name)})
	})
}

// checkRefused: without a credential, or with a participant's certificate,
// the dashboard answers nothing but a refusal.
func checkRefused(t *testing.T, f *fed, base string) {
	t.Helper()
	caPEM, err := os.ReadFile(f.issue(pki.RoleCoordinator, "coordinator").CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	part := f.issue(pki.RoleParticipant, "cleveland")
	cert, err := tls.LoadX509KeyPair(part.Cert, part.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		want  int
	}{{"no credential", nil, http.StatusUnauthorized}, {"participant certificate", []tls.Certificate{cert}, http.StatusForbidden}} {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1",
			Certificates: tc.certs}}, Timeout: 10 * time.Second}
		for _, path := range []string{"/api/overview", "/api/rounds/1", "/api/events"} {
			resp, err := c.Get(base + path)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.name, path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s: GET %s: status %d, want %d", tc.name, path, resp.StatusCode, tc.want)
			}
		}
	}
}

// browser starts headless Chromium with a laptop-sized window. The
// dashboard's certificate is issued by the test federation's CA, which
// Chromium does not know, hence ignore-certificate-errors.
// checkBackup downloads a backup of the running coordinator's database
// with the token and checks that it opens and its ledger verifies against
// its models.
func checkBackup(t *testing.T, f *fed, base, token string) {
	t.Helper()
	caPEM, err := os.ReadFile(f.issue(pki.RoleCoordinator, "coordinator").CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}},
		Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/backup", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("backup: status %d", resp.StatusCode)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("the backup does not open as a store: %v", err)
	}
	defer st.Close()
	rep, err := st.VerifyLedger()
	if err != nil {
		t.Fatalf("the backup's ledger does not verify: %v", err)
	}
	if rep.Published < 4 {
		t.Errorf("the backup's ledger has %d published rounds, want rounds 0 to 3", rep.Published)
	}
}
