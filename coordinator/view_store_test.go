package coordinator

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/dashboard"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/coordinator/store"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// viewEngine is an engine over a real store holding rounds 0 to last of a
// federation with central DP; the accounting has spent spent.
func viewEngine(t *testing.T, last uint64, spent float64) *engine {
	t.Helper()
	rc, err := roundconfig.Load("roundconfig/testdata/valid/privacy-central.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "coordinator.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for r := uint64(0); r <= last; r++ {
		opened := t0.Add(time.Duration(r) * time.Minute)
		if err := st.PutRound(&confedv1.RoundStatus{Round: r, State: confedv1.RoundState_ROUND_STATE_PUBLISHED,
			OpenedAt: timestamppb.New(opened), ClosedAt: timestamppb.New(opened.Add(10 * time.Second)),
			FinishedAt: timestamppb.New(opened.Add(25 * time.Second)),
			Privacy:    &confedv1.PrivacySpent{Mode: "central", EpsilonRound: 0.5, EpsilonTotal: 0.5 * float64(r), Delta: 1e-5, NoiseMultiplier: 1.1, EpsilonBudget: 8}}); err != nil {
			t.Fatal(err)
		}
	}
	e := newEngine(slog.New(slog.DiscardHandler), func() time.Time { return t0.Add(time.Hour) }, rc, st, nil, "agg:1")
	if e.priv, err = newPrivacy(rc.Privacy); err != nil {
		t.Fatal(err)
	}
	e.priv.total = spent
	return e
}

// TestDashboardRoundNeighbours: the round page links only to rounds that
// exist: no previous round before round 0, no next round after the last.
func TestDashboardRoundNeighbours(t *testing.T) {
	src := dashboardSource{viewEngine(t, 2, 1)}
	u := func(n uint64) *uint64 { return &n }
	tests := []struct {
		round      uint64
		prev, next *uint64
	}{
		{0, nil, u(1)},
		{1, u(0), u(2)},
		{2, u(1), nil},
	}
	for _, tt := range tests {
		d, err := src.Round(tt.round)
		if err != nil {
			t.Fatal(err)
		}
		if !sameRound(d.PreviousRound, tt.prev) || !sameRound(d.NextRound, tt.next) {
			t.Errorf("round %d: previous %v, next %v; want %v, %v", tt.round, deref(d.PreviousRound), deref(d.NextRound), deref(tt.prev), deref(tt.next))
		}
	}
	if _, err := src.Round(3); err == nil || !strings.Contains(err.Error(), "round 3 does not exist") {
		t.Errorf("round 3: err = %v", err)
	}
}

func sameRound(a, b *uint64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *uint64) any {
	if p == nil {
		return "none"
	}
	return *p
}

// TestDashboardPrivacyBudget: the overview shows the ε spent next to the
// budget, δ and z, each round its own share, in the JSON API too; the
// duration of a round includes its aggregation.
func TestDashboardPrivacyBudget(t *testing.T) {
	src := dashboardSource{viewEngine(t, 3, 1.5)}
	o, err := src.Overview()
	if err != nil {
		t.Fatal(err)
	}
	p := o.Privacy
	if p == nil || p.Spent == nil || *p.Spent != 1.5 || p.Budget == nil || *p.Budget != 8 ||
		p.Settings["delta"] != "1e-05" || p.Settings["noise_multiplier"] != "1.1" {
		t.Fatalf("privacy %+v", p)
	}
	if len(o.Rounds) != 4 {
		t.Fatalf("%d rounds", len(o.Rounds))
	}
	r := o.Rounds[3]
	if r.Privacy == nil || r.Privacy.EpsilonRound != 0.5 || r.Privacy.EpsilonTotal != 1.5 {
		t.Errorf("round 3 privacy %+v", r.Privacy)
	}
	if r.DurationSeconds == nil || *r.DurationSeconds != 25 || r.CollectionSeconds == nil || *r.CollectionSeconds != 10 {
		t.Errorf("round 3 duration %v, collection %v; want 25 and 10", r.DurationSeconds, r.CollectionSeconds)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Privacy dashboard.FeatureView `json:"privacy"`
		Rounds  []struct {
			Privacy struct {
				EpsilonRound float64 `json:"epsilon_round"`
				EpsilonTotal float64 `json:"epsilon_total"`
				Delta        float64 `json:"delta"`
			} `json:"privacy"`
			FinishedAt string `json:"finished_at"`
		} `json:"rounds"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Privacy.Spent == nil || *back.Privacy.Spent != 1.5 || back.Rounds[3].Privacy.EpsilonTotal != 1.5 ||
		back.Rounds[3].Privacy.Delta != 1e-5 || back.Rounds[3].FinishedAt == "" {
		t.Errorf("JSON: %s", b)
	}
}
