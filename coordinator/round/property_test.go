package round

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// event is one randomly generated call on a Machine.
type event struct {
	kind   string // ready, admit, complete, tick, publish, fail
	p      string
	result Result
	reason string
	hash   []byte
	now    time.Time
}

func (e event) String() string {
	switch e.kind {
	case "admit":
		return fmt.Sprintf("+%v admit %s", e.now.Sub(t0), e.p)
	case "complete":
		return fmt.Sprintf("+%v complete %s accepted=%v", e.now.Sub(t0), e.p, e.result.Accepted)
	}
	return fmt.Sprintf("+%v %s", e.now.Sub(t0), e.kind)
}

// outcome is what a Machine answered to an event.
type outcome struct {
	d       Decision
	effects []Effect
	err     error
}

func (o outcome) String() string {
	return fmt.Sprintf("%+v %s %v", o.d, formatEffects(o.effects), o.err)
}

func apply(m *Machine, e event) outcome {
	var o outcome
	switch e.kind {
	case "ready":
		o.effects, o.err = m.AggregatorReady(e.now)
	case "admit":
		o.d = m.Admit(e.p, e.now)
	case "complete":
		o.d, o.effects = m.Complete(e.p, e.result, e.now)
	case "tick":
		o.effects = m.Tick(e.now)
	case "publish":
		o.err = m.Published(e.hash, e.now)
	case "fail":
		o.effects, o.err = m.Fail(e.reason, e.now)
	}
	return o
}

// walk generates random events for one round.
type walk struct {
	rng *rand.Rand
	p   Params
	now time.Time
}

func newWalk(rng *rand.Rand) *walk {
	n := 1 + rng.IntN(5)
	p := Params{
		Round:            1 + rng.Uint64N(100),
		Min:              1 + rng.IntN(n),
		ReadyTimeout:     time.Duration(1+rng.IntN(60)) * time.Second,
		CollectTimeout:   time.Duration(1+rng.IntN(120)) * time.Second,
		AggregateTimeout: time.Duration(1+rng.IntN(60)) * time.Second,
	}
	for i := range n {
		p.Expected = append(p.Expected, fmt.Sprintf("p%d", i))
	}
	rng.Shuffle(n, func(i, j int) { p.Expected[i], p.Expected[j] = p.Expected[j], p.Expected[i] })
	return &walk{rng: rng, p: p, now: t0}
}

var refusals = []string{"non_finite: update contains NaN", "norm: exceeds the bound", "base_model: stale", ""}

// weights are the odds, per state, of each kind of event: mostly the
// events that move the round on, but every event in every state.
var weights = map[State][]int{ // ready, admit, complete, tick, publish, fail
	Open:        {40, 8, 4, 16, 4, 1},
	Collecting:  {2, 50, 45, 12, 2, 1},
	Aggregating: {3, 8, 8, 25, 40, 2},
	Published:   {1, 1, 1, 1, 1, 1},
	FailedState: {1, 1, 1, 1, 1, 1},
}

var kinds = []string{"ready", "admit", "complete", "tick", "publish", "fail"}

func (w *walk) next(m *Machine) event {
	r := w.rng
	// Advance the clock: mostly by a fraction of the current state's
	// timeout, sometimes onto or just past its deadline, sometimes far.
	d := m.NextDeadline()
	span := max(d.Sub(w.now), time.Second)
	switch k := r.IntN(20); {
	case k == 0 && d.After(w.now):
		w.now = d
	case k == 1 && d.After(w.now):
		w.now = d.Add(time.Nanosecond)
	case k == 2:
		w.now = w.now.Add(time.Duration(r.IntN(180)) * time.Second)
	default:
		w.now = w.now.Add(time.Duration(r.Int64N(int64(span) / 6)))
	}
	e := event{now: w.now}
	participant := func() string {
		if r.IntN(12) == 0 {
			return "stranger"
		}
		return w.p.Expected[r.IntN(len(w.p.Expected))]
	}
	e.kind = pick(r, kinds, weights[m.State()])
	switch e.kind {
	case "admit":
		e.p = participant()
	case "complete":
		e.p = participant()
		e.result = Result{Accepted: r.IntN(10) < 7, NumExamples: r.Uint64N(1000), UpdateNorm: r.Float64() * 10,
			Metrics: map[string]float64{"train_loss": r.Float64()}}
		if !e.result.Accepted {
			e.result.Reason = refusals[r.IntN(len(refusals))]
			e.result.UpdateNorm = []float64{math.NaN(), math.Inf(1), 11}[r.IntN(3)]
		}
	case "publish":
		e.hash = make([]byte, 32)
		if r.IntN(10) == 0 {
			e.hash = e.hash[:r.IntN(32)]
		}
	case "fail":
		e.reason = []string{"operator abort", ""}[r.IntN(2)]
	}
	return e
}

func pick(r *rand.Rand, kinds []string, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	k := r.IntN(total)
	for i, w := range weights {
		if k < w {
			return kinds[i]
		}
		k -= w
	}
	panic("unreachable")
}

// runLog is what one random run has seen so far, for the invariants that
// span events.
type runLog struct {
	closes   int
	included map[string]int // Complete OKs per participant
}

// TestRandomEventSequences throws many random event sequences (fixed seed)
// at machines and checks the invariants after every event. Midway through
// each run a copy is restored from a JSON snapshot and must then answer
// exactly like the original.
func TestRandomEventSequences(t *testing.T) {
	runs, steps := 3000, 60
	if testing.Short() {
		runs = 300
	}
	rng := rand.New(rand.NewPCG(20260301, 3))
	seen := map[string]int{}
	for run := range runs {
		w := newWalk(rng)
		m, err := New(w.p, t0)
		if err != nil {
			t.Fatal(err)
		}
		log := &runLog{included: map[string]int{}}
		restoreAt := rng.IntN(steps)
		var shadow *Machine
		var history []string
		for i, afterEnd := 0, 0; i < steps && afterEnd < 6; i++ {
			if m.State().Terminal() {
				afterEnd++
			}
			if i == restoreAt {
				shadow = throughJSON(t, m)
			}
			e := w.next(m)
			history = append(history, e.String())
			before := m.Snapshot()
			o := apply(m, e)
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("run %d (params %+v), after\n  %s\n%s\noutcome %v", run, w.p,
					strings.Join(history, "\n  "), fmt.Sprintf(format, args...), o)
			}
			checkInvariants(m, before, e, o, log, fail)
			if shadow != nil {
				if so := apply(shadow, e); so.String() != o.String() {
					fail("the restored copy answered %v", so)
				}
				if a, b := m.Snapshot(), shadow.Snapshot(); !sameSnapshot(a, b) {
					fail("the restored copy diverged:\n%s\n%s", jsonOf(a), jsonOf(b))
				}
			}
			noteCoverage(seen, before, e, o)
		}
		if shadow != nil && jsonOf(m.Snapshot()) != jsonOf(shadow.Snapshot()) {
			t.Fatalf("run %d: the restored copy diverged:\n%s\n%s", run, jsonOf(m.Snapshot()), jsonOf(shadow.Snapshot()))
		}
		seen["end "+m.State().String()]++
	}
	// The generator must actually reach the interesting places.
	for _, want := range []string{"end published", "end failed", "close early", "close at deadline",
		"fail too few", "fail ready", "fail aggregation", "fail operator", "late complete", "late admit",
		"retry admitted", "duplicate refused", "in flight refused"} {
		if seen[want] == 0 {
			t.Errorf("no run reached %q (seen %v)", want, seen)
		}
	}
	t.Logf("coverage: %v", seen)
}

// checkInvariants checks m after event e, which found the machine as in
// before and answered o.
func checkInvariants(m *Machine, before Snapshot, e event, o outcome, log *runLog, fail func(string, ...any)) {
	prev, cur := before.State, m.State()
	after := m.Snapshot()
	unchanged := sameSnapshot(before, after)

	// The state only moves forward, and never out of a terminal state.
	if cur < prev || (prev.Terminal() && cur != prev) {
		fail("state went from %v to %v", prev, cur)
	}
	// In a terminal state every event is refused and changes nothing.
	if prev.Terminal() {
		refused := o.err != nil || (e.kind != "ready" && e.kind != "publish" && e.kind != "fail" && !o.d.OK)
		if e.kind == "tick" {
			refused = o.effects == nil
		}
		if !refused || len(o.effects) > 0 || !unchanged {
			fail("an event in state %v was not refused, or changed something", prev)
		}
	}
	// Errors and refused admissions change nothing.
	if (o.err != nil || (e.kind == "admit" && !o.d.OK)) && !unchanged {
		fail("a refused %s changed the machine", e.kind)
	}
	if !o.d.OK && (e.kind == "admit" || e.kind == "complete") && o.d.Reason == "" {
		fail("a refusal without a reason")
	}

	// Included ⊆ Expected, sorted, never shrinks, grows only by the
	// participant of an OK Complete, and nobody is included twice.
	inc, prevInc := m.Included(), includedOf(before)
	for _, p := range inc {
		if !slices.Contains(m.p.Expected, p) {
			fail("%q included but not expected", p)
		}
	}
	if !slices.IsSorted(inc) || len(slices.Compact(slices.Clone(inc))) != len(inc) {
		fail("Included() %v is not sorted and unique", inc)
	}
	grew := slices.DeleteFunc(slices.Clone(inc), func(p string) bool { return slices.Contains(prevInc, p) })
	for _, p := range prevInc {
		if !slices.Contains(inc, p) {
			fail("%q was included and no longer is", p)
		}
	}
	okComplete := e.kind == "complete" && o.d.OK
	if okComplete != (len(grew) == 1 && grew[0] == e.p) || len(grew) > 1 {
		fail("included grew by %v on %s (ok=%v)", grew, e.kind, o.d.OK)
	}
	if okComplete {
		if log.included[e.p]++; log.included[e.p] > 1 {
			fail("%q included twice", e.p)
		}
		if prev != Collecting || e.now.After(before.Deadline) || !inFlight(before, e.p) {
			fail("Complete OK in state %v at %v (deadline %v) for a participant not in flight", prev, e.now, before.Deadline)
		}
	}
	if e.kind == "admit" && o.d.OK && (prev != Collecting || !e.now.Before(before.Deadline) || !inFlight(after, e.p)) {
		fail("Admit OK in state %v at %v (deadline %v), or not in flight after", prev, e.now, before.Deadline)
	}

	// Published only from Aggregating, and only by Published.
	if cur == Published && prev != Published && (e.kind != "publish" || prev != Aggregating) {
		fail("reached Published from %v by %s", prev, e.kind)
	}
	checkEffects(m, before, e, o, log, fail)

	// A failed round always says why.
	if (cur == FailedState) != (m.Reason() != "") {
		fail("state %v with reason %q", cur, m.Reason())
	}
	// Participants are in flight only while collecting; the snapshot is
	// consistent.
	for _, s := range after.Submissions {
		if s.InFlight && cur != Collecting {
			fail("%q in flight in state %v", s.Participant, cur)
		}
	}
	if _, err := Restore(after); err != nil {
		fail("snapshot does not restore: %v", err)
	}
}

// checkEffects requires exactly one effect per transition, of the kind the
// transition calls for, and nothing otherwise.
func checkEffects(m *Machine, before Snapshot, e event, o outcome, log *runLog, fail func(string, ...any)) {
	prev, cur := before.State, m.State()
	if cur == prev || cur == Published {
		if len(o.effects) > 0 {
			fail("effects %v without a transition to one of their states", o.effects)
		}
		return
	}
	if len(o.effects) != 1 {
		fail("transition %v → %v with effects %v", prev, cur, o.effects)
	}
	switch ef := o.effects[0].(type) {
	case StartCollecting:
		if prev != Open || cur != Collecting || !ef.Deadline.Equal(e.now.Add(m.p.CollectTimeout)) {
			fail("StartCollecting(%v) on %v → %v", ef.Deadline, prev, cur)
		}
	case CloseCollection:
		if log.closes++; log.closes > 1 {
			fail("CloseCollection emitted twice")
		}
		if prev != Collecting || cur != Aggregating || !slices.Equal(ef.Include, m.Included()) || len(ef.Include) < m.p.Min {
			fail("CloseCollection%v on %v → %v (included %v, min %d)", ef.Include, prev, cur, m.Included(), m.p.Min)
		}
	case Failed:
		if cur != FailedState || ef.Reason == "" || ef.Reason != m.Reason() {
			fail("Failed(%q) on %v → %v (reason %q)", ef.Reason, prev, cur, m.Reason())
		}
	default:
		fail("unknown effect %T", ef)
	}
}

// sameSnapshot reports whether a and b are identical, NaN norms included
// (which reflect.DeepEqual would call different). It is hand-written
// because the race detector makes reflection-heavy comparisons slow.
func sameSnapshot(a, b Snapshot) bool {
	same := a.Version == b.Version && a.Params.Round == b.Params.Round && a.Params.Min == b.Params.Min &&
		slices.Equal(a.Params.Expected, b.Params.Expected) && a.Params.ReadyTimeout == b.Params.ReadyTimeout &&
		a.Params.CollectTimeout == b.Params.CollectTimeout && a.Params.AggregateTimeout == b.Params.AggregateTimeout &&
		a.State == b.State && a.Reason == b.Reason && a.OpenedAt == b.OpenedAt && a.ReadyDeadline == b.ReadyDeadline &&
		a.CollectingSince == b.CollectingSince && a.Deadline == b.Deadline && a.ClosedAt == b.ClosedAt &&
		a.AggregateDeadline == b.AggregateDeadline && a.FinishedAt == b.FinishedAt &&
		slices.Equal(a.ModelSHA256, b.ModelSHA256)
	return same && slices.EqualFunc(a.Submissions, b.Submissions, func(x, y SubmissionSnapshot) bool {
		return x.Participant == y.Participant && x.Attempts == y.Attempts && x.InFlight == y.InFlight &&
			x.Dropped == y.Dropped && x.Accepted == y.Accepted && x.Included == y.Included && x.Reason == y.Reason &&
			x.NumExamples == y.NumExamples && sameFloat(x.UpdateNorm, y.UpdateNorm) && x.At == y.At &&
			maps.EqualFunc(x.Metrics, y.Metrics, sameFloat)
	})
}

func sameFloat(x, y Float64) bool {
	return math.Float64bits(float64(x)) == math.Float64bits(float64(y))
}

// jsonOf encodes s, for failure messages.
func jsonOf(s Snapshot) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func includedOf(s Snapshot) []string {
	var out []string
	for _, sub := range s.Submissions {
		if sub.Included {
			out = append(out, sub.Participant)
		}
	}
	return out
}

func inFlight(s Snapshot, p string) bool {
	for _, sub := range s.Submissions {
		if sub.Participant == p {
			return sub.InFlight
		}
	}
	return false
}

// noteCoverage counts the interesting situations a random run reached.
func noteCoverage(seen map[string]int, before Snapshot, e event, o outcome) {
	prev := before.State
	for _, ef := range o.effects {
		switch ef := ef.(type) {
		case CloseCollection:
			if e.kind == "complete" {
				seen["close early"]++
			} else {
				seen["close at deadline"]++
			}
		case Failed:
			switch {
			case strings.HasPrefix(ef.Reason, "too few"):
				seen["fail too few"]++
			case strings.HasPrefix(ef.Reason, "aggregator not ready"):
				seen["fail ready"]++
			case strings.HasPrefix(ef.Reason, "aggregation did not"):
				seen["fail aggregation"]++
			default:
				seen["fail operator"]++
			}
		}
	}
	r := o.d.Reason
	switch {
	case e.kind == "complete" && strings.HasPrefix(r, "late"):
		seen["late complete"]++
	case e.kind == "admit" && strings.HasPrefix(r, "late"):
		seen["late admit"]++
	case strings.HasPrefix(r, "duplicate"):
		seen["duplicate refused"]++
	case strings.Contains(r, "already in flight"):
		seen["in flight refused"]++
	case e.kind == "admit" && o.d.OK && prev == Collecting:
		seen["admitted"]++
	}
	if e.kind == "admit" && o.d.OK && attempts(before, e.p) > 0 {
		seen["retry admitted"]++
	}
}

func attempts(s Snapshot, p string) int {
	for _, sub := range s.Submissions {
		if sub.Participant == p {
			return sub.Attempts
		}
	}
	return 0
}
