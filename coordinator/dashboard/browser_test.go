package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/confed/confed/internal/browsertest"
)

// privateSource is a federation with differential privacy and rounds 0 to
// 2: round 1 collected feature statistics, round 2 spent ε 1.5.
func privateSource() *fakeSource {
	f := newFakeSource()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) *time.Time { u := t0.Add(time.Duration(s) * time.Second); return &u }
	secs := func(v float64) *float64 { return &v }
	u := func(n uint64) *uint64 { return &n }
	spent, budget := Number(1.5), Number(8)
	f.ov.Privacy = &FeatureView{Enabled: true, Spent: &spent, Budget: &budget,
		Settings: map[string]string{"mode": "central", "noise_multiplier": "1.1", "delta": "1e-05", "clip_norm": "0.5"}}
	f.ov.PlannedRounds, f.ov.PublishedRounds = 2, 2
	f.ov.Participants = []ParticipantView{{Name: "a", Member: true, Attestation: "not required"}}
	f.ov.Aggregation = AggregationView{Strategy: "fedavg", Expected: []string{"a", "b"}, MinParticipants: 2}
	mk := func(n uint64, p *RoundPrivacy) RoundSummary {
		return RoundSummary{Round: n, State: "published", Included: 2, Expected: 2, OpenedAt: at(0), ClosedAt: at(10),
			FinishedAt: at(25), DurationSeconds: secs(25), CollectionSeconds: secs(10), Privacy: p,
			Submissions: []SubmissionView{}, Events: []EventView{}}
	}
	stats := &RoundPrivacy{Mode: "central", EpsilonTotal: 0, EpsilonBudget: 8, Delta: 1e-5, NoiseMultiplier: 1.1, ClipNorm: 0.5,
		Note: "feature-statistics round"}
	private := &RoundPrivacy{Mode: "central", EpsilonRound: 1.5, EpsilonTotal: 1.5, EpsilonBudget: 8, Delta: 1e-5,
		NoiseMultiplier: 1.1, ClipNorm: 0.5}
	rs := []RoundSummary{mk(0, nil), mk(1, stats), mk(2, private)}
	f.ov.Rounds = rs
	f.rounds = map[uint64]RoundDetail{
		0: {RoundSummary: rs[0], Federation: testFederation, NextRound: u(1)},
		1: {RoundSummary: rs[1], Federation: testFederation, PreviousRound: u(0), NextRound: u(2)},
		2: {RoundSummary: rs[2], Federation: testFederation, PreviousRound: u(1)},
	}
	return f
}

// TestPagesInBrowser drives headless Chromium through the pages of a
// federation with differential privacy: the overview shows the ε spent of
// the budget with δ and z, a chart and each round's share; a round page
// shows its privacy and what its duration measures; "Next round" is hidden
// on the latest round and "Previous round" on round 0. With
// CONFED_SCREENSHOTS=dir it saves PNGs there.
func TestPagesInBrowser(t *testing.T) {
	chrome := browsertest.Chromium(t)
	p := newTestPKI(t, testFederation)
	srv := startServer(t, p, privateSource(), TokenFromSecret(testToken))
	ctx, cancel := browsertest.Start(t, chrome, 2*time.Minute)
	defer cancel()
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Do(t, ctx, what, actions...)
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	do("log in", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), testToken+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="overview"]`)))
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll('#rounds-table tbody tr').length === 3`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("overview: %v; page says %q", err, eval(`document.getElementById('load-error').textContent`))
	}
	if s := eval(`document.getElementById('features').textContent`); !strings.Contains(s, "1.5 of 8") ||
		!strings.Contains(s, "6.5 left") || !strings.Contains(s, "1e-05") || !strings.Contains(s, "Noise multiplier z1.1") {
		t.Errorf("privacy budget on the overview: %q", s)
	}
	if s := eval(`document.querySelector('#rounds-table tr[data-round="2"] .epsilon').textContent`); s != "1.5 / 1.5" {
		t.Errorf("round 2's ε in the rounds table: %q", s)
	}
	if s := eval(`String(document.querySelectorAll('#chart-privacy circle.pt').length) + (document.getElementById('chart-privacy').hidden ? ' hidden' : '')`); s != "4" {
		t.Errorf("privacy chart points: %q, want 4 (ε total and budget for rounds 1 and 2)", s)
	}
	browsertest.Shot(t, ctx, "dashboard-privacy.png", "#extensions")

	nav := `['prev', 'next'].map(id => { const a = document.getElementById(id); return a.hidden || getComputedStyle(a).display === 'none' ? id + ':hidden' : id + ':' + a.getAttribute('href'); }).join(' ')`
	for _, tt := range []struct{ round, want string }{
		{"2", "prev:/rounds/1 next:hidden"},
		{"1", "prev:/rounds/0 next:/rounds/2"},
		{"0", "prev:hidden next:/rounds/1"},
	} {
		do("round "+tt.round, chromedp.Navigate(srv.URL+"/rounds/"+tt.round),
			chromedp.WaitVisible(chromedp.CSS(`#verify span`)))
		if got := eval(nav); got != tt.want {
			t.Errorf("round %s: links %q, want %q", tt.round, got, tt.want)
		}
		if tt.round == "2" {
			if s := eval(`document.getElementById('duration').textContent`); !strings.Contains(s, "25.0 s") || !strings.Contains(s, "opening to publication, aggregation included") {
				t.Errorf("round 2 duration: %q", s)
			}
			if s := eval(`document.getElementById('privacy').textContent`); !strings.Contains(s, "ε this round1.5") || !strings.Contains(s, "1.5 of 8") {
				t.Errorf("round 2 privacy: %q", s)
			}
			browsertest.Shot(t, ctx, "dashboard-round-privacy.png", "")
		}
		if tt.round == "0" {
			if s := eval(`String(document.getElementById('privacy-card').hidden)`); s != "true" {
				t.Errorf("round 0 (no DP accounting) shows a privacy card")
			}
		}
	}
}
