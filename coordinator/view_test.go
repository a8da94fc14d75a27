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

func TestRoundSummaryDuration(t *testing.T) {
	opened := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := opened.Add(7 * time.Second)
	tests := []struct {
		name   string
		state  confedv1.RoundState
		closed *timestamppb.Timestamp
		want   float64 // -1: none
	}{
		{"closed", confedv1.RoundState_ROUND_STATE_PUBLISHED, timestamppb.New(opened.Add(3 * time.Second)), 3},
		{"running: until now", confedv1.RoundState_ROUND_STATE_COLLECTING, nil, 7},
		{"failed without a close time", confedv1.RoundState_ROUND_STATE_FAILED, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundSummary(&confedv1.RoundStatus{State: tt.state, OpenedAt: timestamppb.New(opened), ClosedAt: tt.closed}, now)
			switch {
			case tt.want < 0 && got.DurationSeconds != nil:
				t.Errorf("duration %v, want none", *got.DurationSeconds)
			case tt.want >= 0 && (got.DurationSeconds == nil || *got.DurationSeconds != tt.want):
				t.Errorf("duration %v, want %v", got.DurationSeconds, tt.want)
			}
		})
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
	if s == nil || !s.Enabled || s.Settings["threshold"] != "3" {
		t.Errorf("secure aggregation view %+v", s)
	}
}
