package round

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is when every scripted round opens; scripts give times as offsets
// from it, so the fake clock is just t0.Add(at).
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// params3 is a round 3 expecting a, b and c, at least two of them, with
// a 1m ready timeout, a 10m collection and a 5m aggregation.
func params3() Params {
	return Params{
		Round: 3, Expected: []string{"c", "a", "b"}, Min: 2,
		ReadyTimeout: time.Minute, CollectTimeout: 10 * time.Minute, AggregateTimeout: 5 * time.Minute,
	}
}

// step is one scripted event at t0+at, and the outcome exec must report.
type step struct {
	at   time.Duration
	do   string
	want string
}

// sha is a well-formed model hash.
var sha = make([]byte, 32)

// exec applies the scripted event do at now and describes the outcome:
//
//	ready                 AggregatorReady: effects, or "error: …"
//	admit P               Admit: "ok" or "refused: …"
//	complete P            Complete, accepted: "ok" or "refused: …", then "; " and effects
//	refuse P REASON…      Complete, refused by the aggregator with REASON
//	tick                  Tick: effects ("" for none)
//	publish               Published with a valid hash: "ok" or "error: …"
//	fail REASON…          Fail: effects, or "error: …"
//	state | included | reason   the accessors
//
// Effects print as StartCollecting(TIME), CloseCollection[a b], Failed(REASON),
// joined by " + ".
func exec(m *Machine, do string, now time.Time) string {
	verb, arg, _ := strings.Cut(do, " ")
	switch verb {
	case "ready":
		return effectsOrError(m.AggregatorReady(now))
	case "admit":
		return decision(m.Admit(arg, now))
	case "complete", "refuse":
		p, reason, _ := strings.Cut(arg, " ")
		r := Result{Accepted: verb == "complete", Reason: reason, NumExamples: 100, UpdateNorm: 1.5,
			Metrics: map[string]float64{"train_loss": 0.25}}
		d, effects := m.Complete(p, r, now)
		if len(effects) > 0 {
			return decision(d) + "; " + formatEffects(effects)
		}
		return decision(d)
	case "tick":
		return formatEffects(m.Tick(now))
	case "publish":
		if err := m.Published(sha, now); err != nil {
			return "error: " + err.Error()
		}
		return "ok"
	case "fail":
		return effectsOrError(m.Fail(arg, now))
	case "state":
		return m.State().String()
	case "included":
		return strings.Join(m.Included(), " ")
	case "reason":
		return m.Reason()
	}
	panic("unknown scripted event " + do)
}

func decision(d Decision) string {
	if d.OK {
		if d.Reason != "" {
			return "ok with a reason?! " + d.Reason
		}
		return "ok"
	}
	return "refused: " + d.Reason
}

func effectsOrError(effects []Effect, err error) string {
	if err != nil {
		if len(effects) > 0 {
			return "effects with an error?! " + err.Error()
		}
		return "error: " + err.Error()
	}
	return formatEffects(effects)
}

func formatEffects(effects []Effect) string {
	var out []string
	for _, e := range effects {
		switch e := e.(type) {
		case StartCollecting:
			out = append(out, "StartCollecting("+stamp(e.Deadline)+")")
		case CloseCollection:
			out = append(out, fmt.Sprintf("CloseCollection%v", e.Include))
		case Failed:
			out = append(out, "Failed("+e.Reason+")")
		}
	}
	return strings.Join(out, " + ")
}

// script is a scripted round: params, then steps in order.
type script struct {
	name   string
	params Params
	steps  []step
}

const (
	lateAt10 = "refused: late: collection for round 3 closed at 2026-03-01T09:10:00Z"
	notExp   = `refused: participant "x" is not expected in round 3`
)

// scripts are the scenarios; TestScripts runs them, and
// TestSnapshotRestoreContinues runs them again through a restore at every
// step.
var scripts = []script{
	{"all included closes early", params3(), []step{
		{0, "state", "open"},
		{0, "admit a", "refused: round 3 is open, not collecting: the aggregator is not ready yet"},
		{10 * time.Second, "ready", "StartCollecting(2026-03-01T09:10:10Z)"},
		{10 * time.Second, "state", "collecting"},
		{time.Minute, "admit a", "ok"},
		{time.Minute, "admit b", "ok"},
		{time.Minute, "admit c", "ok"},
		{2 * time.Minute, "complete b", "ok"},
		{2 * time.Minute, "complete a", "ok"},
		{2 * time.Minute, "tick", ""},
		{3 * time.Minute, "complete c", "ok; CloseCollection[a b c]"},
		{3 * time.Minute, "state", "aggregating"},
		{3 * time.Minute, "included", "a b c"},
		{3 * time.Minute, "admit a", "refused: round 3 is aggregating, not collecting"},
		{4 * time.Minute, "publish", "ok"},
		{4 * time.Minute, "state", "published"},
		{4 * time.Minute, "reason", ""},
		{time.Hour, "tick", ""},
	}},
	{"deadline with enough updates", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit a", "ok"},
		{time.Minute, "admit b", "ok"},
		{time.Minute, "admit c", "ok"},
		{2 * time.Minute, "complete a", "ok"},
		{10 * time.Minute, "complete b", "ok"}, // exactly at the deadline: on time
		{10 * time.Minute, "tick", ""},         // Tick acts only after the deadline
		{10*time.Minute + time.Nanosecond, "tick", "CloseCollection[a b]"},
		{10*time.Minute + time.Second, "complete c", lateAt10}, // dropped when collection closed
		{10*time.Minute + time.Second, "state", "aggregating"},
		{10*time.Minute + time.Second, "included", "a b"},
		{11 * time.Minute, "publish", "ok"},
	}},
	{"deadline with too few updates", Params{
		Round: 3, Expected: []string{"a", "b", "c", "d"}, Min: 2,
		ReadyTimeout: time.Minute, CollectTimeout: 10 * time.Minute, AggregateTimeout: 5 * time.Minute,
	}, []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit a", "ok"},
		{time.Minute, "admit b", "ok"},
		{time.Minute, "admit c", "ok"},
		{2 * time.Minute, "complete a", "ok"},
		{2 * time.Minute, "refuse b non_finite: update contains NaN", "refused: non_finite: update contains NaN"},
		{11 * time.Minute, "tick", "Failed(too few participants: 1 update included, minimum 2 " +
			"(expected 4: a, b, c, d; included: a; refused: b: non_finite: update contains NaN; late: c; no update: d))"},
		{11 * time.Minute, "state", "failed"},
		{11 * time.Minute, "included", "a"},
		{11 * time.Minute, "complete c", "refused: round 3 has failed, not collecting: too few participants: " +
			"1 update included, minimum 2 (expected 4: a, b, c, d; included: a; refused: b: non_finite: " +
			"update contains NaN; late: c; no update: d)"},
	}},
	{"nobody submits", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{11 * time.Minute, "tick", "Failed(too few participants: 0 updates included, minimum 2 (expected 3: a, b, c; no update: a, b, c))"},
	}},
	{"ready timeout", params3(), []step{
		{time.Minute, "tick", ""},
		{time.Minute + time.Second, "ready", "error: round 3: AggregatorReady refused: late: the aggregator had to be ready by 2026-03-01T09:01:00Z"},
		{time.Minute + time.Second, "state", "open"},
		{time.Minute + time.Second, "tick", "Failed(aggregator not ready within 1m0s)"},
		{time.Minute + time.Second, "reason", "aggregator not ready within 1m0s"},
		{2 * time.Minute, "ready", "error: round 3: AggregatorReady refused: round is over: it failed: aggregator not ready within 1m0s"},
	}},
	{"ready exactly at the ready deadline", params3(), []step{
		{time.Minute, "ready", "StartCollecting(2026-03-01T09:11:00Z)"},
		{time.Minute, "ready", "error: round 3: AggregatorReady refused: wrong state: the round is collecting, not open"},
		{time.Hour, "tick", "Failed(too few participants: 0 updates included, minimum 2 (expected 3: a, b, c; no update: a, b, c))"},
	}},
	{"aggregation timeout", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{0, "publish", "error: round 3: Published refused: wrong state: the round is collecting, not aggregating"},
		{time.Minute, "admit a", "ok"},
		{time.Minute, "admit b", "ok"},
		{time.Minute, "complete a", "ok"},
		{time.Minute, "complete b", "ok"},
		{12 * time.Minute, "tick", "CloseCollection[a b]"}, // aggregation deadline 09:17
		{17 * time.Minute, "tick", ""},
		{17*time.Minute + time.Second, "publish", "error: round 3: Published refused: late: aggregation had to finish by 2026-03-01T09:17:00Z"},
		{17*time.Minute + time.Second, "state", "aggregating"},
		{17*time.Minute + time.Second, "tick", "Failed(aggregation did not finish within 5m0s)"},
		{18 * time.Minute, "publish", "error: round 3: Published refused: round is over: it failed: aggregation did not finish within 5m0s"},
	}},
	{"publish exactly at the aggregation deadline", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit a", "ok"},
		{time.Minute, "admit b", "ok"},
		{time.Minute, "admit c", "ok"},
		{time.Minute, "complete a", "ok"},
		{time.Minute, "complete b", "ok"},
		{time.Minute, "complete c", "ok; CloseCollection[a b c]"},
		{6 * time.Minute, "publish", "ok"},
	}},
	{"late admit", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{10*time.Minute - time.Nanosecond, "admit a", "ok"},
		{10 * time.Minute, "admit b", lateAt10}, // before Tick, judged by its own time
		{10 * time.Minute, "complete a", "ok"},
		{20 * time.Minute, "admit c", lateAt10},
		{20 * time.Minute, "tick", "Failed(too few participants: 1 update included, minimum 2 (expected 3: a, b, c; included: a; no update: b, c))"},
		{20 * time.Minute, "admit c", "refused: round 3 has failed, not collecting: too few participants: 1 update included, minimum 2 (expected 3: a, b, c; included: a; no update: b, c)"},
	}},
	{"late complete before and after Tick", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit a", "ok"},
		{time.Minute, "admit b", "ok"},
		{time.Minute, "admit c", "ok"},
		{10*time.Minute + time.Second, "complete a", lateAt10},                             // Tick has not run: still late
		{10*time.Minute + time.Second, "complete a", lateAt10},                             // and again: no longer in flight
		{10*time.Minute + time.Second, "refuse b non_finite: x", "refused: non_finite: x"}, // a refusal is a refusal, late or not
		{10*time.Minute + time.Second, "state", "collecting"},
		{11 * time.Minute, "tick", "Failed(too few participants: 0 updates included, minimum 2 (expected 3: a, b, c; refused: b: non_finite: x; late: a, c))"},
		{11 * time.Minute, "complete c", "refused: round 3 has failed, not collecting: too few participants: 0 updates included, minimum 2 (expected 3: a, b, c; refused: b: non_finite: x; late: a, c)"},
		{11 * time.Minute, "included", ""},
	}},
	{"duplicates", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit a", "ok"},
		{time.Minute, "admit a", `refused: an update from "a" is already in flight`},
		{2 * time.Minute, "complete a", "ok"},
		{2 * time.Minute, "complete a", `refused: duplicate: an update from "a" is already included in round 3`},
		{3 * time.Minute, "admit a", `refused: duplicate: an update from "a" is already included in round 3`},
		{3 * time.Minute, "included", "a"},
	}},
	{"retry after a refused update", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit a", "ok"},
		{2 * time.Minute, "refuse a norm: 12.5 exceeds the bound 10", "refused: norm: 12.5 exceeds the bound 10"},
		{2 * time.Minute, "complete a", `refused: no update from "a" is in flight in round 3`},
		{3 * time.Minute, "admit a", "ok"},
		{3 * time.Minute, "refuse a", "refused: refused by the aggregator without a reason"},
		{4 * time.Minute, "admit a", "ok"},
		{5 * time.Minute, "complete a", "ok"},
		{5 * time.Minute, "included", "a"},
	}},
	{"unknown participant", params3(), []step{
		{0, "admit x", notExp},
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit x", notExp},
		{time.Minute, "complete x", notExp},
		{time.Minute, "admit ", `refused: participant "" is not expected in round 3`},
		{time.Minute, "included", ""},
	}},
	{"complete without admission", params3(), []step{
		{0, "complete a", "refused: round 3 is open, not collecting: the aggregator is not ready yet"},
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "complete a", `refused: no update from "a" is in flight in round 3`},
	}},
	{"operator fails a collecting round", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit a", "ok"},
		{2 * time.Minute, "fail operator abort", "Failed(operator abort)"},
		{2 * time.Minute, "complete a", "refused: round 3 has failed, not collecting: operator abort"},
		{2 * time.Minute, "fail again", "error: round 3: Fail refused: round is over: it failed: operator abort"},
		{2 * time.Minute, "reason", "operator abort"},
	}},
	{"fail without a reason", params3(), []step{
		{0, "fail", "Failed(failed without a reason)"},
		{0, "reason", "failed without a reason"},
	}},
	{"fail while aggregating", params3(), []step{
		{0, "ready", "StartCollecting(2026-03-01T09:10:00Z)"},
		{time.Minute, "admit a", "ok"},
		{time.Minute, "admit b", "ok"},
		{time.Minute, "complete a", "ok"},
		{time.Minute, "complete b", "ok"},
		{11 * time.Minute, "tick", "CloseCollection[a b]"},
		{12 * time.Minute, "fail aggregator: out of memory", "Failed(aggregator: out of memory)"},
		{12 * time.Minute, "publish", "error: round 3: Published refused: round is over: it failed: aggregator: out of memory"},
	}},
	{"Min 1 of 1", Params{Round: 1, Expected: []string{"solo"}, Min: 1, ReadyTimeout: 1, CollectTimeout: 1, AggregateTimeout: 1}, []step{
		{0, "ready", "StartCollecting(2026-03-01T09:00:00.000000001Z)"},
		{0, "admit solo", "ok"},
		{1, "complete solo", "ok; CloseCollection[solo]"},
		{2, "publish", "ok"},
	}},
}

func TestScripts(t *testing.T) {
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			m, err := New(sc.params, t0)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range sc.steps {
				if got := exec(m, s.do, t0.Add(s.at)); got != s.want {
					t.Fatalf("step %d: +%v %s:\n got %s\nwant %s", i, s.at, s.do, got, s.want)
				}
			}
		})
	}
}

// TestTerminalStatesRefuseEverything drives a round to each terminal state
// and then throws every event at it: each is refused and the snapshot does
// not change.
func TestTerminalStatesRefuseEverything(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []string
		state State
	}{
		{"published", []string{"ready", "admit a", "admit b", "admit c", "complete a", "complete b", "complete c", "publish"}, Published},
		{"failed while open", []string{"fail stop"}, FailedState},
		{"failed while collecting", []string{"ready", "admit a", "admit b", "complete b", "fail stop"}, FailedState},
		{"failed while aggregating", []string{"ready", "admit a", "admit b", "admit c", "complete a", "complete b", "complete c", "fail stop"}, FailedState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(params3(), t0)
			if err != nil {
				t.Fatal(err)
			}
			now := t0
			for _, s := range tc.steps {
				now = now.Add(time.Second)
				exec(m, s, now)
			}
			if m.State() != tc.state {
				t.Fatalf("state %v, want %v", m.State(), tc.state)
			}
			before := mustJSON(t, m.Snapshot())
			for _, at := range []time.Duration{time.Second, time.Hour} {
				now := now.Add(at)
				if effects, err := m.AggregatorReady(now); err == nil || !errors.Is(err, ErrTerminal) || effects != nil {
					t.Errorf("AggregatorReady: %v, %v", effects, err)
				}
				for _, p := range []string{"a", "b", "c", "x"} {
					if d := m.Admit(p, now); d.OK || d.Reason == "" {
						t.Errorf("Admit(%s): %+v", p, d)
					}
					for _, accepted := range []bool{true, false} {
						if d, effects := m.Complete(p, Result{Accepted: accepted, Reason: "r"}, now); d.OK || d.Reason == "" || effects != nil {
							t.Errorf("Complete(%s, %v): %+v, %v", p, accepted, d, effects)
						}
					}
				}
				if effects := m.Tick(now); effects != nil {
					t.Errorf("Tick: %v", effects)
				}
				if err := m.Published(sha, now); !errors.Is(err, ErrTerminal) {
					t.Errorf("Published: %v", err)
				}
				if effects, err := m.Fail("again", now); !errors.Is(err, ErrTerminal) || effects != nil {
					t.Errorf("Fail: %v, %v", effects, err)
				}
			}
			if after := mustJSON(t, m.Snapshot()); after != before {
				t.Errorf("snapshot changed:\n%s\n%s", before, after)
			}
		})
	}
}

func TestNewValidatesParams(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Params)
	}{
		{"Round", func(p *Params) { p.Round = 0 }},
		{"Expected", func(p *Params) { p.Expected = nil }},
		{"Expected[1]", func(p *Params) { p.Expected = []string{"a", "", "b"} }},
		{"Expected[2]", func(p *Params) { p.Expected = []string{"a", "b", "a"} }},
		{"Min", func(p *Params) { p.Min = 0 }},
		{"Min", func(p *Params) { p.Min = 4 }},
		{"Min", func(p *Params) { p.Min = -1 }},
		{"ReadyTimeout", func(p *Params) { p.ReadyTimeout = 0 }},
		{"CollectTimeout", func(p *Params) { p.CollectTimeout = -time.Second }},
		{"AggregateTimeout", func(p *Params) { p.AggregateTimeout = 0 }},
	} {
		p := params3()
		tc.edit(&p)
		m, err := New(p, t0)
		var pe *ParamError
		if m != nil || !errors.As(err, &pe) || pe.Field != tc.field || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: got %v, %v; want a ParamError for %s", p, m, err, tc.field)
		}
	}
	var pe *ParamError
	if _, err := New(params3(), time.Time{}); !errors.As(err, &pe) || pe.Field != "now" {
		t.Errorf("zero now: %v", err)
	}
}

func TestNewCopiesParams(t *testing.T) {
	p := params3()
	m, err := New(p, t0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Round() != 3 {
		t.Fatalf("Round() = %d", m.Round())
	}
	p.Expected[0] = "mallory"
	if d := m.Admit("mallory", t0); d.OK {
		t.Fatal("the machine shares Expected with the caller")
	}
	if got := m.Snapshot().Params.Expected; !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Expected %v, want sorted a b c", got)
	}
}

func TestPublishedChecksTheHash(t *testing.T) {
	m := aggregating(t)
	for _, h := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
		if err := m.Published(h, t0.Add(time.Minute)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Published(%d bytes): %v", len(h), err)
		}
	}
	if m.State() != Aggregating {
		t.Fatalf("state %v", m.State())
	}
	h := slices.Clone(sha)
	if err := m.Published(h, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	h[0] = 1
	if got := m.Status().GetModelSha256(); !slices.Equal(got, sha) {
		t.Fatalf("the machine shares the hash with the caller: %x", got)
	}
}

// aggregating returns a round 3 that collected a and b and is aggregating
// since t0.
func aggregating(t *testing.T) *Machine {
	t.Helper()
	m, err := New(params3(), t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ready", "admit a", "admit b", "complete a", "complete b"} {
		exec(m, s, t0)
	}
	if got := exec(m, "tick", t0.Add(11*time.Minute)); got != "CloseCollection[a b]" {
		t.Fatalf("tick: %s", got)
	}
	return m
}

func TestErrorsWrapSentinels(t *testing.T) {
	m, _ := New(params3(), t0)
	if err := m.Published(sha, t0); !errors.Is(err, ErrWrongState) {
		t.Errorf("Published while open: %v", err)
	}
	if _, err := m.AggregatorReady(t0.Add(2 * time.Minute)); !errors.Is(err, ErrLate) {
		t.Errorf("late AggregatorReady: %v", err)
	}
}

func TestNextDeadline(t *testing.T) {
	m, _ := New(params3(), t0)
	want := []time.Time{t0.Add(time.Minute)}
	got := []time.Time{m.NextDeadline()}
	exec(m, "ready", t0.Add(30*time.Second))
	want, got = append(want, t0.Add(10*time.Minute+30*time.Second)), append(got, m.NextDeadline())
	exec(m, "admit a", t0.Add(time.Minute))
	exec(m, "admit b", t0.Add(time.Minute))
	exec(m, "complete a", t0.Add(time.Minute))
	exec(m, "complete b", t0.Add(time.Minute))
	exec(m, "tick", t0.Add(11*time.Minute))
	want, got = append(want, t0.Add(16*time.Minute)), append(got, m.NextDeadline())
	exec(m, "publish", t0.Add(12*time.Minute))
	want, got = append(want, time.Time{}), append(got, m.NextDeadline())
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("deadlines %v, want %v", got, want)
	}
}

func TestTimesAreNormalised(t *testing.T) {
	local := time.FixedZone("CET", 3600)
	now := time.Now().In(local) // carries a monotonic reading and a zone
	m, err := New(params3(), now)
	if err != nil {
		t.Fatal(err)
	}
	effects, err := m.AggregatorReady(now)
	if err != nil {
		t.Fatal(err)
	}
	d := effects[0].(StartCollecting).Deadline
	if d.Location() != time.UTC || d != d.Round(0) || !d.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("deadline %v (%v)", d, d.Location())
	}
}

func TestIncludedIsACopy(t *testing.T) {
	m := aggregating(t)
	inc := m.Included()
	inc[0] = "mallory"
	if got := m.Included(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Included %v", got)
	}
}

func TestStateNames(t *testing.T) {
	for s, want := range map[State]string{Open: "open", Collecting: "collecting", Aggregating: "aggregating",
		Published: "published", FailedState: "failed", 0: "State(0)", 9: "State(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
		b, err := s.MarshalText()
		if !s.valid() {
			if err == nil {
				t.Errorf("%v: MarshalText succeeded", s)
			}
			continue
		}
		var back State
		if err != nil || back.UnmarshalText(b) != nil || back != s {
			t.Errorf("%v: text round trip %q, %v, %v", s, b, err, back)
		}
	}
	var s State
	if err := s.UnmarshalText([]byte("done")); err == nil {
		t.Error("UnmarshalText accepted an unknown state")
	}
}

func TestResultMetricsAreCopied(t *testing.T) {
	m, _ := New(params3(), t0)
	exec(m, "ready", t0)
	m.Admit("a", t0)
	metrics := map[string]float64{"loss": 1}
	if d, _ := m.Complete("a", Result{Accepted: true, NumExamples: 7, UpdateNorm: math.Inf(1), Metrics: metrics}, t0); !d.OK {
		t.Fatal(d)
	}
	metrics["loss"] = 2
	if got := m.Status().GetSubmissions()[0].GetMetrics()["loss"]; got != 1 {
		t.Fatalf("loss %v: the machine shares Metrics with the caller", got)
	}
}
