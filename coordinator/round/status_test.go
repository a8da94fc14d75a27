package round

import (
	"math"
	"slices"
	"testing"
	"time"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func TestStateProto(t *testing.T) {
	for s, want := range map[State]confedv1.RoundState{
		Open:        confedv1.RoundState_ROUND_STATE_OPEN,
		Collecting:  confedv1.RoundState_ROUND_STATE_COLLECTING,
		Aggregating: confedv1.RoundState_ROUND_STATE_AGGREGATING,
		Published:   confedv1.RoundState_ROUND_STATE_PUBLISHED,
		FailedState: confedv1.RoundState_ROUND_STATE_FAILED,
		0:           confedv1.RoundState_ROUND_STATE_UNSPECIFIED,
	} {
		if got := s.Proto(); got != want {
			t.Errorf("%v: %v, want %v", s, got, want)
		}
	}
}

func TestStatus(t *testing.T) {
	p := params3()
	p.Min = 1
	m, _ := New(p, t0)
	st := m.Status()
	if st.GetState() != confedv1.RoundState_ROUND_STATE_OPEN || st.GetDeadline() != nil || st.GetClosedAt() != nil ||
		!st.GetOpenedAt().AsTime().Equal(t0) || len(st.GetSubmissions()) != 0 {
		t.Fatalf("open: %v", st)
	}
	exec(m, "ready", t0.Add(time.Second))
	m.Admit("c", t0.Add(time.Minute))
	m.Admit("b", t0.Add(time.Minute))
	m.Admit("a", t0.Add(time.Minute))
	m.Complete("a", Result{Accepted: true, NumExamples: 42, UpdateNorm: 3.5, Metrics: map[string]float64{"train_loss": 0.5}}, t0.Add(2*time.Minute))
	m.Complete("b", Result{Reason: "non_finite: NaN in layer 0", UpdateNorm: math.NaN()}, t0.Add(3*time.Minute))

	st = m.Status()
	if st.GetRound() != 3 || st.GetState() != confedv1.RoundState_ROUND_STATE_COLLECTING || st.GetMinParticipants() != 1 ||
		!slices.Equal(st.GetExpectedParticipants(), []string{"a", "b", "c"}) ||
		!st.GetDeadline().AsTime().Equal(t0.Add(10*time.Minute+time.Second)) || st.GetClosedAt() != nil {
		t.Fatalf("collecting: %v", st)
	}
	subs := st.GetSubmissions()
	if len(subs) != 3 {
		t.Fatalf("submissions: %v", subs)
	}
	a, b, c := subs[0], subs[1], subs[2]
	if a.GetParticipant() != "a" || !a.GetAccepted() || !a.GetIncluded() || a.GetReason() != "" || a.GetNumExamples() != 42 ||
		a.GetUpdateNorm() != 3.5 || a.GetMetrics()["train_loss"] != 0.5 || !a.GetAt().AsTime().Equal(t0.Add(2*time.Minute)) {
		t.Errorf("a: %v", a)
	}
	if b.GetParticipant() != "b" || b.GetAccepted() || b.GetIncluded() || b.GetReason() != "non_finite: NaN in layer 0" ||
		!math.IsNaN(b.GetUpdateNorm()) {
		t.Errorf("b: %v", b)
	}
	if c.GetParticipant() != "c" || c.GetAccepted() || c.GetIncluded() || c.GetReason() != "in flight since 2026-03-01T09:01:00Z" {
		t.Errorf("c: %v", c)
	}

	// The status is the caller's to modify.
	st.ExpectedParticipants[0] = "mallory"
	a.Metrics["train_loss"] = 9
	if st := m.Status(); st.GetExpectedParticipants()[0] != "a" || st.GetSubmissions()[0].GetMetrics()["train_loss"] != 0.5 {
		t.Fatalf("the status shares memory with the machine: %v", st)
	}

	exec(m, "tick", t0.Add(11*time.Minute))
	exec(m, "publish", t0.Add(12*time.Minute))
	st = m.Status()
	if st.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || !st.GetClosedAt().AsTime().Equal(t0.Add(11*time.Minute)) ||
		!slices.Equal(st.GetModelSha256(), sha) {
		t.Fatalf("published: %v", st)
	}
	if c := st.GetSubmissions()[2]; c.GetReason() != "late: collection for round 3 closed at 2026-03-01T09:10:01Z" {
		t.Errorf("dropped c: %v", c)
	}
}

func TestStatusOfAFailedRound(t *testing.T) {
	m, _ := New(params3(), t0)
	exec(m, "tick", t0.Add(2*time.Minute))
	st := m.Status()
	if st.GetState() != confedv1.RoundState_ROUND_STATE_FAILED || st.GetReason() != "aggregator not ready within 1m0s" {
		t.Fatalf("failed: %v", st)
	}
}
