package coordinator

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/roundconfig"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func sub(name string, included bool, reason string, metrics map[string]float64, at time.Time) *confedv1.SubmissionStatus {
	return &confedv1.SubmissionStatus{Participant: name, Accepted: included, Included: included, Reason: reason,
		Metrics: metrics, At: timestamppb.New(at)}
}

func TestRoundSummaryGlobalMetrics(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		subs       []*confedv1.SubmissionStatus
		want       map[string]float64 // nil: no global metrics
		statistics bool
	}{
		{"weighted by test examples, excluded submissions ignored", []*confedv1.SubmissionStatus{
			sub("a", true, "", map[string]float64{"global_accuracy": 0.5, "global_loss": 1, "test_examples": 10}, t0),
			sub("b", true, "", map[string]float64{"global_accuracy": 0.9, "global_loss": 0.2, "test_examples": 30}, t0),
			sub("c", false, "refused", map[string]float64{"global_accuracy": 0, "test_examples": 1000}, t0),
		}, map[string]float64{"global_accuracy": 0.8, "global_loss": 0.4}, false},
		{"no test examples, no average", []*confedv1.SubmissionStatus{
			sub("a", true, "", map[string]float64{"global_accuracy": 0.5}, t0),
		}, nil, false},
		{"statistics round", []*confedv1.SubmissionStatus{
			sub("a", true, "", map[string]float64{"statistics_round": 1, "global_accuracy": 0.5, "test_examples": 3}, t0),
		}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &confedv1.RoundStatus{Round: 2, State: confedv1.RoundState_ROUND_STATE_PUBLISHED, Submissions: tt.subs}
			got := roundSummary(st, t0)
			if got.Statistics != tt.statistics {
				t.Errorf("statistics %v, want %v", got.Statistics, tt.statistics)
			}
			if len(got.Global) != len(tt.want) {
				t.Fatalf("global %v, want %v", got.Global, tt.want)
			}
			for k, v := range tt.want {
				if d := float64(got.Global[k]) - v; d > 1e-12 || d < -1e-12 {
					t.Errorf("%s = %v, want %v", k, got.Global[k], v)
				}
			}
		})
	}
}

// TestRoundSummaryDuration: a round's duration runs from its opening to
// its publication or failure (aggregation included), its collection time
// to the close of collection; both run to now while they last.
func TestRoundSummaryDuration(t *testing.T) {
	opened := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := opened.Add(20 * time.Second)
	at := func(s int) *timestamppb.Timestamp { return timestamppb.New(opened.Add(time.Duration(s) * time.Second)) }
	const none = -1
	tests := []struct {
		name                 string
		state                confedv1.RoundState
		closed, finished     *timestamppb.Timestamp
		duration, collection float64
		finishedAt           bool
	}{
		{"published: aggregation and publication count", confedv1.RoundState_ROUND_STATE_PUBLISHED, at(3), at(11), 11, 3, true},
		{"collecting: both to now", confedv1.RoundState_ROUND_STATE_COLLECTING, nil, nil, 20, 20, false},
		{"open: both to now", confedv1.RoundState_ROUND_STATE_OPEN, nil, nil, 20, 20, false},
		{"aggregating: collection over, the round to now", confedv1.RoundState_ROUND_STATE_AGGREGATING, at(3), nil, 20, 3, false},
		{"failed in aggregation", confedv1.RoundState_ROUND_STATE_FAILED, at(3), at(9), 9, 3, true},
		{"failed on restart: closed_at is the failure", confedv1.RoundState_ROUND_STATE_FAILED, at(4), nil, 4, 4, true},
		{"failed without any time", confedv1.RoundState_ROUND_STATE_FAILED, nil, nil, none, none, false},
		{"published by an older coordinator: end unknown", confedv1.RoundState_ROUND_STATE_PUBLISHED, at(3), nil, none, 3, false},
	}
	check := func(t *testing.T, what string, got *float64, want float64) {
		t.Helper()
		switch {
		case want == none && got != nil:
			t.Errorf("%s %v, want none", what, *got)
		case want != none && (got == nil || *got != want):
			t.Errorf("%s %v, want %v", what, got, want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundSummary(&confedv1.RoundStatus{State: tt.state, OpenedAt: timestamppb.New(opened), ClosedAt: tt.closed,
				FinishedAt: tt.finished}, now)
			check(t, "duration", got.DurationSeconds, tt.duration)
			check(t, "collection", got.CollectionSeconds, tt.collection)
			if (got.FinishedAt != nil) != tt.finishedAt {
				t.Errorf("finished_at %v, want set: %v", got.FinishedAt, tt.finishedAt)
			}
		})
	}
}

// TestRoundSummaryPrivacy: a round's privacy accounting is shown as
// stored, and is absent without DP.
func TestRoundSummaryPrivacy(t *testing.T) {
	st := &confedv1.RoundStatus{Round: 3, State: confedv1.RoundState_ROUND_STATE_PUBLISHED, Privacy: &confedv1.PrivacySpent{
		Mode: "central", EpsilonRound: 0.75, EpsilonTotal: 2.5, Delta: 1e-5, NoiseMultiplier: 1.1, EpsilonBudget: 8, ClipNorm: 0.5}}
	p := roundSummary(st, time.Now()).Privacy
	if p == nil || p.Mode != "central" || p.EpsilonRound != 0.75 || p.EpsilonTotal != 2.5 || p.Delta != 1e-5 ||
		p.NoiseMultiplier != 1.1 || p.EpsilonBudget != 8 || p.ClipNorm != 0.5 || p.Projected {
		t.Errorf("privacy %+v", p)
	}
	if p := roundSummary(&confedv1.RoundStatus{Round: 3}, time.Now()).Privacy; p != nil {
		t.Errorf("privacy without DP %+v, want none", p)
	}
}

func TestLastActivity(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rounds := []*confedv1.RoundStatus{
		{Round: 1, Submissions: []*confedv1.SubmissionStatus{sub("a", false, "update has NaN", nil, t0)}},
		{Round: 2, Submissions: []*confedv1.SubmissionStatus{sub("a", true, "", nil, t0.Add(time.Minute))}},
		{Round: 3, Events: []*confedv1.RoundEvent{{Participant: "a", Kind: "aggregator_refused", Reason: "measurement",
			At: timestamppb.New(t0.Add(2 * time.Minute))}},
			Submissions: []*confedv1.SubmissionStatus{sub("b", false, "in flight since 03:06:05", nil, t0.Add(3*time.Minute))}},
	}
	p, seen := lastActivity("a", rounds, nil)
	if p == nil || p.Round != 3 || p.Kind != "aggregator_refused" || p.Reason != "measurement" {
		t.Errorf("a's last problem %+v, want the report of round 3", p)
	}
	if seen == nil || !seen.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("a last seen %v", seen)
	}
	if p, _ := lastActivity("b", rounds, nil); p != nil {
		t.Errorf("an update in flight is reported as a problem: %+v", p)
	}
	p, _ = lastActivity("a", rounds[:2], nil)
	if p == nil || p.Round != 1 || p.Kind != "refused" || p.Reason != "update has NaN" {
		t.Errorf("a's last problem before round 3 %+v, want the refusal of round 1", p)
	}
}

func TestFeatureViews(t *testing.T) {
	if v := privacyView(roundconfig.Privacy{}); v != nil {
		t.Errorf("privacy off: %+v, want nil", v)
	}
	if v := secAggView(roundconfig.SecureAggregation{Mode: roundconfig.SecAggOff}); v != nil {
		t.Errorf("secure aggregation off: %+v, want nil", v)
	}
	p := privacyView(roundconfig.Privacy{Mode: roundconfig.PrivacyCentral, NoiseMultiplier: 1.1, ClipNorm: 0.5, Delta: 1e-5, EpsilonBudget: 8})
	if p == nil || !p.Enabled || p.Settings["mode"] != "central" || p.Settings["clip_norm"] != "0.5" || p.Budget == nil || *p.Budget != 8 || p.Spent != nil {
		t.Errorf("privacy view %+v", p)
	}
	s := secAggView(roundconfig.SecureAggregation{Mode: roundconfig.SecAggPlus, Threshold: 3})
	if s == nil || !s.Enabled || s.Settings["threshold"] != "3" || s.Settings["stage_timeout"] != "10s" || s.Settings["masked"] == "" {
		t.Errorf("secure aggregation view %+v", s)
	}
}
