// Package round runs one federated-learning round as a deterministic state
// machine.
//
// The machine does no I/O, starts no goroutines and never reads a clock:
// every event carries the instant at which it happened (now), and the
// machine answers only through return values: a Decision for the caller to
// relay, an error, or Effects for the caller to carry out (tell the
// participants to train, tell the aggregator which updates to aggregate,
// abort the round). The same events at the same instants always give the
// same answers, so tests drive it with a fake clock, and a Snapshot restores
// it exactly. A Machine is not safe for concurrent use: the caller
// serialises events (under its own mutex, say).
//
// # States
//
//	Open ──AggregatorReady──▶ Collecting ──every expected update included,──▶ Aggregating ──Published──▶ Published
//	 │                          │          or Tick after the deadline              │
//	 │                          │          with at least Min included              │
//	 └──Tick / Fail──▶ FailedState ◀──Tick after the deadline (< Min) / Fail ◀──────┴──Tick / Fail
//
// Published and FailedState are terminal: every later event is refused
// (with an error or a refusing Decision) and changes nothing.
//
// # Deadlines
//
// Each non-terminal state has a deadline: Open the ready deadline
// (opened + ReadyTimeout), Collecting the collection deadline (ready +
// CollectTimeout), Aggregating the aggregation deadline (closed +
// AggregateTimeout). Only Tick acts on a deadline, and only at an instant
// strictly after it. Every other event is judged by its own time: one that
// must come by the current state's deadline (AggregatorReady, Admit, an
// accepted Complete, Published) is refused as late after it, even when Tick
// has not run yet. At exactly the deadline it is on time, except Admit,
// which must come strictly before the collection deadline (a stream started
// then could not finish in time).
//
// Times are taken as given (the machine does not require them to increase)
// and are kept in UTC without a monotonic clock reading, so that a restored
// machine and its original compare times identically.
//
// # Submissions
//
// A participant's update goes through Admit (the aggregator asks whether it
// may accept the stream; the participant is then "in flight") and Complete
// (the aggregator reports the stream's outcome). A refused outcome clears
// the in-flight mark, so the participant may try again while the round is
// collecting. An accepted, on-time outcome is included: the Decision tells
// the aggregator to fold it in, and that is the commit point. At most one
// update per participant is ever included. Participants still in flight when
// collection closes are dropped; their later Complete is refused as late.
package round

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// State is the phase of a round.
type State int

// The states of a round, in the only order a round may pass through them
// (a round may skip to FailedState from any non-terminal state).
const (
	// Open: the aggregator has been asked to prepare for the round.
	Open State = iota + 1
	// Collecting: participants train and stream their updates.
	Collecting
	// Aggregating: collection is closed; the aggregator computes the
	// aggregate of exactly the included updates.
	Aggregating
	// Published: the aggregate was published (terminal).
	Published
	// FailedState: the round failed; Reason says why (terminal). It is not
	// called Failed because that is the name of the Effect announcing it.
	FailedState
)

var stateNames = [...]string{
	Open:        "open",
	Collecting:  "collecting",
	Aggregating: "aggregating",
	Published:   "published",
	FailedState: "failed",
}

// String returns the state's lower-case name ("collecting"), or
// "State(n)" for a value that is not a state.
func (s State) String() string {
	if s.valid() {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Terminal reports whether s is Published or FailedState.
func (s State) Terminal() bool { return s == Published || s == FailedState }

func (s State) valid() bool { return s >= Open && s <= FailedState }

// MarshalText encodes s as its name, so that snapshots read well.
func (s State) MarshalText() ([]byte, error) {
	if !s.valid() {
		return nil, fmt.Errorf("round: cannot encode invalid %v", s)
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText decodes a name written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	for st := Open; st <= FailedState; st++ {
		if string(b) == stateNames[st] {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("round: unknown state %q", b)
}

// Result is the aggregator's verdict on an admitted update stream.
type Result struct {
	// Accepted is true when the update passed the aggregator's checks.
	Accepted bool
	// Reason says why the update was refused (ignored when Accepted).
	Reason      string
	NumExamples uint64
	UpdateNorm  float64
	// Metrics are the participant's summary metrics (never raw data).
	Metrics map[string]float64
}

// Decision answers Admit and Complete. For Complete, OK is the commit point:
// the aggregator folds the update into the aggregate only when OK is true.
type Decision struct {
	OK bool
	// Reason is a human-readable explanation of a refusal (empty when OK).
	Reason string
}

// Effect is an instruction for the caller, returned by the transition that
// requires it. The set is closed: StartCollecting, CloseCollection and
// Failed.
type Effect interface{ effect() }

// StartCollecting: the round moved to Collecting; tell the participants to
// train and submit before Deadline.
type StartCollecting struct{ Deadline time.Time }

// CloseCollection: the round moved to Aggregating; tell the aggregator to
// aggregate exactly the updates of Include (sorted, never empty).
type CloseCollection struct{ Include []string }

// Failed: the round moved to FailedState; tell the aggregator to abort.
// Reason is never empty.
type Failed struct{ Reason string }

func (StartCollecting) effect() {}
func (CloseCollection) effect() {}
func (Failed) effect()          {}

// Errors returned by AggregatorReady, Published and Fail wrap one of these,
// so that a caller can map them to its own codes with errors.Is.
var (
	// ErrTerminal: the round is already published or failed.
	ErrTerminal = errors.New("round is over")
	// ErrWrongState: the event does not apply in the round's current state.
	ErrWrongState = errors.New("wrong state")
	// ErrLate: the deadline of the current state has passed.
	ErrLate = errors.New("late")
	// ErrInvalid: an argument is malformed.
	ErrInvalid = errors.New("invalid argument")
)

// noReason replaces an empty reason given to Fail, so that a failed round
// always says something.
const noReason = "failed without a reason"

// Machine is the state machine of one round. Create it with New or Restore.
type Machine struct {
	p        Params // Expected sorted, validated
	expected map[string]bool

	state  State
	reason string // why the round failed

	openedAt          time.Time
	readyDeadline     time.Time
	collectingSince   time.Time
	deadline          time.Time // collection deadline
	closedAt          time.Time // when collection closed (either way out of Collecting)
	aggregateDeadline time.Time
	finishedAt        time.Time // when the round became terminal

	modelSHA256 []byte
	subs        map[string]*submission
	included    int
}

// submission is what the machine knows about one participant's latest
// attempt.
type submission struct {
	attempts    int // admissions so far
	inFlight    bool
	dropped     bool // in flight when collection closed, or completed late
	accepted    bool // the aggregator accepted the latest completed stream
	included    bool
	reason      string // why the latest attempt is not included
	numExamples uint64
	updateNorm  float64
	metrics     map[string]float64
	at          time.Time // last change
}

// New starts round p at now, in state Open with the ready deadline
// now+ReadyTimeout. It returns a *ParamError naming the first invalid field.
// The machine keeps its own sorted copy of p.Expected.
func New(p Params, now time.Time) (*Machine, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if now.IsZero() {
		return nil, &ParamError{Field: "now", Problem: "is the zero time"}
	}
	now = norm(now)
	m := newMachine(p)
	m.state = Open
	m.openedAt = now
	m.readyDeadline = now.Add(p.ReadyTimeout)
	return m, nil
}

// newMachine returns a machine for valid params p with no state set.
func newMachine(p Params) *Machine {
	p.Expected = slices.Sorted(slices.Values(p.Expected))
	m := &Machine{p: p, expected: make(map[string]bool, len(p.Expected)), subs: map[string]*submission{}}
	for _, id := range p.Expected {
		m.expected[id] = true
	}
	return m
}

// State returns the round's current state.
func (m *Machine) State() State { return m.state }

// Round returns the round number.
func (m *Machine) Round() uint64 { return m.p.Round }

// Reason returns why the round failed; it is empty unless the state is
// FailedState.
func (m *Machine) Reason() string { return m.reason }

// Included returns the participants whose updates are included, sorted.
func (m *Machine) Included() []string {
	out := make([]string, 0, m.included)
	for _, id := range m.p.Expected {
		if s := m.subs[id]; s != nil && s.included {
			out = append(out, id)
		}
	}
	return out
}

// NextDeadline returns the deadline of the current state: Tick will act at
// any instant after it. It is the zero time in a terminal state.
func (m *Machine) NextDeadline() time.Time {
	switch m.state {
	case Open:
		return m.readyDeadline
	case Collecting:
		return m.deadline
	case Aggregating:
		return m.aggregateDeadline
	}
	return time.Time{}
}

// AggregatorReady records that the aggregator is ready to collect: Open →
// Collecting, with the collection deadline now+CollectTimeout, and the
// effect StartCollecting. It fails with ErrLate after the ready deadline,
// ErrWrongState outside Open and ErrTerminal in a terminal state, and then
// changes nothing.
func (m *Machine) AggregatorReady(now time.Time) ([]Effect, error) {
	now = norm(now)
	if err := m.expect("AggregatorReady", Open); err != nil {
		return nil, err
	}
	if now.After(m.readyDeadline) {
		return nil, m.lateError("AggregatorReady", "the aggregator had to be ready by", m.readyDeadline)
	}
	m.state = Collecting
	m.collectingSince = now
	m.deadline = now.Add(m.p.CollectTimeout)
	return []Effect{StartCollecting{Deadline: m.deadline}}, nil
}

// Admit decides whether participant may start streaming an update. It
// admits, and marks the participant in flight, only while Collecting,
// strictly before the collection deadline, for an expected participant with
// no update included and none in flight. A refusal changes nothing.
func (m *Machine) Admit(participant string, now time.Time) Decision {
	now = norm(now)
	if d, ok := m.checkExpected(participant); !ok {
		return d
	}
	if m.state != Collecting {
		return refuse(m.notCollecting())
	}
	if !now.Before(m.deadline) {
		return refuse(m.lateReason())
	}
	s := m.subs[participant]
	switch {
	case s != nil && s.included:
		return refuse(m.duplicateReason(participant))
	case s != nil && s.inFlight:
		return refuse(fmt.Sprintf("an update from %q is already in flight", participant))
	}
	if s == nil {
		s = &submission{}
		m.subs[participant] = s
	}
	// Forget the previous (refused) attempt: the status shows this one.
	*s = submission{attempts: s.attempts + 1, inFlight: true, at: now}
	return Decision{OK: true}
}

// Complete records the aggregator's verdict r on participant's admitted
// stream. It is refused, changing nothing, unless the participant is in
// flight. Otherwise the in-flight mark is cleared, r is recorded (for
// Status) and:
//   - a refused result (r.Accepted false) is refused with r.Reason; the
//     participant may try again while collecting;
//   - an accepted result after the collection deadline is refused as late
//     and the participant is dropped;
//   - an accepted result on time is included (Decision OK); when that makes
//     every expected participant included, collection closes at once and
//     the effect is CloseCollection.
//
// In-flight participants exist only while Collecting: leaving Collecting
// drops them, and their Complete is then refused as late.
func (m *Machine) Complete(participant string, r Result, now time.Time) (Decision, []Effect) {
	now = norm(now)
	if d, ok := m.checkExpected(participant); !ok {
		return d, nil
	}
	s := m.subs[participant]
	if s == nil || !s.inFlight {
		return refuse(m.notInFlight(participant, s)), nil
	}
	s.inFlight = false
	s.at = now
	s.accepted = r.Accepted
	s.numExamples = r.NumExamples
	s.updateNorm = r.UpdateNorm
	s.metrics = cloneMetrics(r.Metrics)
	switch {
	case !r.Accepted:
		s.reason = r.Reason
		if s.reason == "" {
			s.reason = "refused by the aggregator without a reason"
		}
		return refuse(s.reason), nil
	case now.After(m.deadline):
		s.dropped = true
		s.reason = m.lateReason()
		return refuse(s.reason), nil
	}
	s.included = true
	m.included++
	if m.included == len(m.p.Expected) {
		return Decision{OK: true}, []Effect{m.closeCollection(now)}
	}
	return Decision{OK: true}, nil
}

// Tick acts on the deadline of the current state if now is after it:
//   - Open: the round fails, "aggregator not ready within <ReadyTimeout>";
//   - Collecting: collection closes (CloseCollection) if at least Min
//     updates are included, otherwise the round fails with a reason listing
//     what each expected participant did; in-flight participants are
//     dropped;
//   - Aggregating: the round fails, "aggregation did not finish within
//     <AggregateTimeout>".
//
// Otherwise, and in a terminal state, it does nothing and returns nil.
func (m *Machine) Tick(now time.Time) []Effect {
	now = norm(now)
	switch {
	case m.state == Open && now.After(m.readyDeadline):
		return []Effect{m.fail(fmt.Sprintf("aggregator not ready within %v", m.p.ReadyTimeout), now)}
	case m.state == Collecting && now.After(m.deadline):
		if m.included >= m.p.Min {
			return []Effect{m.closeCollection(now)}
		}
		return []Effect{m.fail(m.tooFewReason(), now)}
	case m.state == Aggregating && now.After(m.aggregateDeadline):
		return []Effect{m.fail(fmt.Sprintf("aggregation did not finish within %v", m.p.AggregateTimeout), now)}
	}
	return nil
}

// Published records that the aggregate, whose SHA-256 is modelSHA256, was
// published: Aggregating → Published. It fails with ErrInvalid unless
// modelSHA256 has 32 bytes, ErrLate after the aggregation deadline,
// ErrWrongState outside Aggregating and ErrTerminal in a terminal state, and
// then changes nothing.
func (m *Machine) Published(modelSHA256 []byte, now time.Time) error {
	now = norm(now)
	if err := m.expect("Published", Aggregating); err != nil {
		return err
	}
	if len(modelSHA256) != sha256Size {
		return fmt.Errorf("round %d: Published refused: %w: model SHA-256 has %d bytes, want %d",
			m.p.Round, ErrInvalid, len(modelSHA256), sha256Size)
	}
	if now.After(m.aggregateDeadline) {
		return m.lateError("Published", "aggregation had to finish by", m.aggregateDeadline)
	}
	m.state = Published
	m.finishedAt = now
	m.modelSHA256 = slices.Clone(modelSHA256)
	return nil
}

// sha256Size is the length of a SHA-256 digest.
const sha256Size = 32

// Fail fails the round for reason (an empty reason is replaced by a
// placeholder, so that a failed round always has one) from any non-terminal
// state; the effect is Failed. In-flight participants are dropped. It fails
// with ErrTerminal in a terminal state, and then changes nothing.
func (m *Machine) Fail(reason string, now time.Time) ([]Effect, error) {
	now = norm(now)
	if m.state.Terminal() {
		return nil, m.terminalError("Fail")
	}
	if reason == "" {
		reason = noReason
	}
	return []Effect{m.fail(reason, now)}, nil
}

// closeCollection moves Collecting → Aggregating at now.
func (m *Machine) closeCollection(now time.Time) Effect {
	m.leaveCollecting(now)
	m.state = Aggregating
	m.aggregateDeadline = now.Add(m.p.AggregateTimeout)
	return CloseCollection{Include: m.Included()}
}

// fail moves a non-terminal round to FailedState at now.
func (m *Machine) fail(reason string, now time.Time) Effect {
	if m.state == Collecting {
		m.leaveCollecting(now)
	}
	m.state = FailedState
	m.reason = reason
	m.finishedAt = now
	return Failed{Reason: reason}
}

// leaveCollecting closes collection at now and drops in-flight participants.
func (m *Machine) leaveCollecting(now time.Time) {
	m.closedAt = now
	for _, id := range m.p.Expected {
		if s := m.subs[id]; s != nil && s.inFlight {
			m.drop(s, now)
		}
	}
}

// drop ends an attempt still in flight when collection closes.
func (m *Machine) drop(s *submission, now time.Time) {
	s.inFlight = false
	s.dropped = true
	s.reason = m.lateReason()
	s.at = now
}

// collectionEnd is when collection ended or will end: the deadline, or
// earlier if collection closed early.
func (m *Machine) collectionEnd() time.Time {
	if !m.closedAt.IsZero() && m.closedAt.Before(m.deadline) {
		return m.closedAt
	}
	return m.deadline
}

func refuse(reason string) Decision { return Decision{Reason: reason} }

// checkExpected refuses a participant that is not expected.
func (m *Machine) checkExpected(participant string) (Decision, bool) {
	if m.expected[participant] {
		return Decision{}, true
	}
	return refuse(fmt.Sprintf("participant %q is not expected in round %d", participant, m.p.Round)), false
}

func (m *Machine) lateReason() string {
	return fmt.Sprintf("late: collection for round %d closed at %s", m.p.Round, stamp(m.collectionEnd()))
}

func (m *Machine) duplicateReason(participant string) string {
	return fmt.Sprintf("duplicate: an update from %q is already included in round %d", participant, m.p.Round)
}

// notCollecting explains why nothing can be submitted in the current state.
func (m *Machine) notCollecting() string {
	switch m.state {
	case Open:
		return fmt.Sprintf("round %d is open, not collecting: the aggregator is not ready yet", m.p.Round)
	case FailedState:
		return fmt.Sprintf("round %d has failed, not collecting: %s", m.p.Round, m.reason)
	}
	return fmt.Sprintf("round %d is %v, not collecting", m.p.Round, m.state)
}

// notInFlight explains why a Complete for a participant that is not in
// flight (s is its record, possibly nil) is refused.
func (m *Machine) notInFlight(participant string, s *submission) string {
	switch {
	case m.state == FailedState:
		return m.notCollecting()
	case s != nil && s.dropped:
		return m.lateReason()
	case s != nil && s.included:
		return m.duplicateReason(participant)
	case m.state != Collecting:
		return m.notCollecting()
	}
	return fmt.Sprintf("no update from %q is in flight in round %d", participant, m.p.Round)
}

// expect returns an error unless the round is in state want.
func (m *Machine) expect(event string, want State) error {
	if m.state.Terminal() {
		return m.terminalError(event)
	}
	if m.state != want {
		return fmt.Errorf("round %d: %s refused: %w: the round is %v, not %v", m.p.Round, event, ErrWrongState, m.state, want)
	}
	return nil
}

func (m *Machine) terminalError(event string) error {
	if m.state == FailedState {
		return fmt.Errorf("round %d: %s refused: %w: it failed: %s", m.p.Round, event, ErrTerminal, m.reason)
	}
	return fmt.Errorf("round %d: %s refused: %w: it is published", m.p.Round, event, ErrTerminal)
}

func (m *Machine) lateError(event, what string, deadline time.Time) error {
	return fmt.Errorf("round %d: %s refused: %w: %s %s", m.p.Round, event, ErrLate, what, stamp(deadline))
}

// tooFewReason explains, for an operator, why collection ended with fewer
// than Min updates: who was expected, and what became of each.
func (m *Machine) tooFewReason() string {
	var included, refused, late, silent []string
	for _, id := range m.p.Expected {
		s := m.subs[id]
		switch {
		case s == nil:
			silent = append(silent, id)
		case s.included:
			included = append(included, id)
		case s.inFlight || s.dropped:
			late = append(late, id)
		default: // refused by the aggregator; the reason is never empty
			refused = append(refused, id+": "+s.reason)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "too few participants: %d %s included, minimum %d (expected %d: %s",
		m.included, plural(m.included, "update", "updates"), m.p.Min, len(m.p.Expected), strings.Join(m.p.Expected, ", "))
	for _, part := range []struct {
		label string
		ids   []string
	}{{"included", included}, {"refused", refused}, {"late", late}, {"no update", silent}} {
		if len(part.ids) > 0 {
			fmt.Fprintf(&b, "; %s: %s", part.label, strings.Join(part.ids, ", "))
		}
	}
	b.WriteString(")")
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// stamp formats t for messages.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// norm strips the monotonic clock reading and the location, so that times
// compare and print the same before and after a Snapshot.
func norm(t time.Time) time.Time { return t.Round(0).UTC() }

func cloneMetrics(m map[string]float64) map[string]float64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
