package round

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func mustJSON(t testing.TB, s Snapshot) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("marshal snapshot: %v", err)
	}
	return string(b)
}

// throughJSON snapshots m, encodes and decodes the snapshot and restores it.
func throughJSON(t testing.TB, m *Machine) *Machine {
	t.Helper()
	var s Snapshot
	if err := json.Unmarshal([]byte(mustJSON(t, m.Snapshot())), &s); err != nil {
		t.Fatalf("unmarshal snapshot: %v", err)
	}
	r, err := Restore(s)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	return r
}

// TestSnapshotRestoreContinues replays every script, restoring a copy of the
// machine through JSON before each step and driving both to the end: the
// copy must answer every later event exactly as the script (and the
// original) does.
func TestSnapshotRestoreContinues(t *testing.T) {
	for _, sc := range scripts {
		for k := 0; k <= len(sc.steps); k++ {
			orig, err := New(sc.params, t0)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sc.steps[:k] {
				exec(orig, s.do, t0.Add(s.at))
			}
			restored := throughJSON(t, orig)
			if a, b := mustJSON(t, orig.Snapshot()), mustJSON(t, restored.Snapshot()); a != b {
				t.Fatalf("%s, restored after %d steps: snapshots differ:\n%s\n%s", sc.name, k, a, b)
			}
			for i, s := range sc.steps[k:] {
				now := t0.Add(s.at)
				got, gotOrig := exec(restored, s.do, now), exec(orig, s.do, now)
				if got != s.want || gotOrig != s.want {
					t.Fatalf("%s, restored after %d steps, step %d %s:\nrestored %s\noriginal %s\nwant     %s",
						sc.name, k, k+i, s.do, got, gotOrig, s.want)
				}
			}
			if a, b := mustJSON(t, orig.Snapshot()), mustJSON(t, restored.Snapshot()); a != b {
				t.Fatalf("%s, restored after %d steps: final snapshots differ:\n%s\n%s", sc.name, k, a, b)
			}
		}
	}
}

// collectingSnapshot is a valid snapshot of a collecting round with one
// update included (a), one refused (b) and one in flight (c).
func collectingSnapshot(t *testing.T) Snapshot {
	t.Helper()
	m, _ := New(params3(), t0)
	for _, s := range []string{"ready", "admit a", "admit b", "admit c", "complete a", "refuse b bad"} {
		exec(m, s, t0)
	}
	return m.Snapshot()
}

func TestRestoreRejectsInconsistentSnapshots(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string
		edit func(*Snapshot)
	}{
		{"version", "version", func(s *Snapshot) { s.Version = 2 }},
		{"params", "Min", func(s *Snapshot) { s.Params.Min = 0 }},
		{"state", "state", func(s *Snapshot) { s.State = 0 }},
		{"no opened_at", "opened_at", func(s *Snapshot) { s.OpenedAt = time.Time{} }},
		{"collecting without deadline", "deadline", func(s *Snapshot) { s.Deadline = time.Time{} }},
		{"closed but collecting", "phase", func(s *Snapshot) { s.ClosedAt = t0 }},
		{"out of order", "order", func(s *Snapshot) { s.State, s.AggregateDeadline = Aggregating, t0 }},
		{"finished but collecting", "finished_at", func(s *Snapshot) { s.FinishedAt = t0 }},
		{"reason but collecting", "reason", func(s *Snapshot) { s.Reason = "x" }},
		{"failed without reason", "reason", func(s *Snapshot) { s.State, s.ClosedAt, s.FinishedAt = FailedState, t0, t0 }},
		{"hash but collecting", "hash", func(s *Snapshot) { s.ModelSHA256 = sha }},
		{"unexpected participant", "unexpected", func(s *Snapshot) { s.Submissions[0].Participant = "x" }},
		{"unsorted", "sorted", func(s *Snapshot) { s.Submissions[0], s.Submissions[1] = s.Submissions[1], s.Submissions[0] }},
		{"duplicate", "duplicated", func(s *Snapshot) { s.Submissions[1].Participant = "a" }},
		{"no attempts", "attempts", func(s *Snapshot) { s.Submissions[0].Attempts = 0 }},
		{"included unaccepted", "included", func(s *Snapshot) { s.Submissions[0].Accepted = false }},
		{"in flight and included", "in flight", func(s *Snapshot) { s.Submissions[2].Included = true }},
		{"refused without reason", "no reason", func(s *Snapshot) { s.Submissions[1].Reason = "" }},
		{"all included yet collecting", "still collecting", func(s *Snapshot) {
			for i := range s.Submissions {
				s.Submissions[i] = SubmissionSnapshot{Participant: s.Submissions[i].Participant, Attempts: 1, Accepted: true, Included: true, At: t0}
			}
		}},
		{"in flight while aggregating", "in flight", func(s *Snapshot) {
			s.State, s.ClosedAt, s.AggregateDeadline = Aggregating, t0, t0.Add(time.Minute)
		}},
		{"aggregating below Min", "minimum", func(s *Snapshot) {
			s.State, s.ClosedAt, s.AggregateDeadline = Aggregating, t0, t0.Add(time.Minute)
			s.Submissions = s.Submissions[:2]
		}},
		{"published with a short hash", "32", func(s *Snapshot) {
			s.State, s.ClosedAt, s.AggregateDeadline, s.FinishedAt = Published, t0, t0, t0
			s.Submissions[1] = SubmissionSnapshot{Participant: "b", Attempts: 1, Accepted: true, Included: true, At: t0}
			s.Submissions = s.Submissions[:2]
			s.ModelSHA256 = []byte{1}
		}},
		{"submissions while open", "never collected", func(s *Snapshot) {
			s.State, s.CollectingSince, s.Deadline = Open, time.Time{}, time.Time{}
		}},
	} {
		s := collectingSnapshot(t)
		if _, err := Restore(s); err != nil {
			t.Fatalf("the unedited snapshot: %v", err)
		}
		tc.edit(&s)
		m, err := Restore(s)
		if m != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, %v; want an error mentioning %q", tc.name, m, err, tc.want)
		}
	}
}

func TestRestoreAcceptsEveryReachableState(t *testing.T) {
	for _, sc := range scripts {
		m, _ := New(sc.params, t0)
		for _, s := range sc.steps {
			exec(m, s.do, t0.Add(s.at))
			if _, err := Restore(m.Snapshot()); err != nil {
				t.Fatalf("%s after %s (%v): %v", sc.name, s.do, m.State(), err)
			}
		}
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	m, _ := New(params3(), t0)
	exec(m, "ready", t0)
	m.Admit("a", t0)
	m.Complete("a", Result{Accepted: true, Metrics: map[string]float64{"loss": 1}}, t0)
	before := mustJSON(t, m.Snapshot())
	s := m.Snapshot()
	s.Params.Expected[0] = "mallory"
	s.Submissions[0].Metrics["loss"] = 9
	s.Submissions[0].Included = false
	if after := mustJSON(t, m.Snapshot()); after != before {
		t.Fatalf("editing a snapshot changed the machine:\n%s\n%s", before, after)
	}
	// Nor does the restored machine share memory with its snapshot.
	s = m.Snapshot()
	r, err := Restore(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Params.Expected[0] = "mallory"
	s.Submissions[0].Metrics["loss"] = 9
	if after := mustJSON(t, r.Snapshot()); after != before {
		t.Fatalf("editing a snapshot changed the restored machine:\n%s\n%s", before, after)
	}
}

func TestFloat64JSON(t *testing.T) {
	for _, f := range []float64{0, -1.5, 1e300, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1)} {
		b, err := json.Marshal(Float64(f))
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		var back Float64
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%v: %s: %v", f, b, err)
		}
		if g := float64(back); g != f && !(math.IsNaN(g) && math.IsNaN(f)) {
			t.Errorf("%v came back as %v (%s)", f, g, b)
		}
	}
	var f Float64
	for _, bad := range []string{`"nan"`, `"1"`, `true`, `{}`} {
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("%s decoded as %v", bad, f)
		}
	}
}

func TestSnapshotJSONIsReadable(t *testing.T) {
	m, _ := New(params3(), t0)
	exec(m, "ready", t0)
	m.Admit("b", t0)
	m.Complete("b", Result{Reason: "non_finite", UpdateNorm: math.NaN()}, t0)
	got := mustJSON(t, m.Snapshot())
	for _, want := range []string{`"state":"collecting"`, `"update_norm":"NaN"`, `"deadline":"2026-03-01T09:10:00Z"`, `"expected":["a","b","c"]`} {
		if !strings.Contains(got, want) {
			t.Errorf("snapshot lacks %s:\n%s", want, got)
		}
	}
}
