package round

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// SnapshotVersion is the Version of the snapshots this package writes.
const SnapshotVersion = 1

// Snapshot is everything Restore needs to rebuild a Machine. It is plain
// data: encoding/json round-trips it exactly (times in UTC, floats that may
// be NaN or ±Inf as Float64), and a machine restored from it answers every
// later event exactly as the original would.
type Snapshot struct {
	Version int    `json:"version"`
	Params  Params `json:"params"`
	State   State  `json:"state"`
	Reason  string `json:"reason,omitempty"`

	OpenedAt          time.Time `json:"opened_at"`
	ReadyDeadline     time.Time `json:"ready_deadline"`
	CollectingSince   time.Time `json:"collecting_since,omitzero"`
	Deadline          time.Time `json:"deadline,omitzero"`
	ClosedAt          time.Time `json:"closed_at,omitzero"`
	AggregateDeadline time.Time `json:"aggregate_deadline,omitzero"`
	FinishedAt        time.Time `json:"finished_at,omitzero"`

	ModelSHA256 []byte `json:"model_sha256,omitempty"`
	// Submissions has one entry per participant ever admitted, sorted by
	// participant.
	Submissions []SubmissionSnapshot `json:"submissions,omitempty"`
}

// SubmissionSnapshot is a participant's latest attempt.
type SubmissionSnapshot struct {
	Participant string             `json:"participant"`
	Attempts    int                `json:"attempts"`
	InFlight    bool               `json:"in_flight,omitempty"`
	Dropped     bool               `json:"dropped,omitempty"`
	Accepted    bool               `json:"accepted,omitempty"`
	Included    bool               `json:"included,omitempty"`
	Reason      string             `json:"reason,omitempty"`
	NumExamples uint64             `json:"num_examples,omitempty"`
	UpdateNorm  Float64            `json:"update_norm,omitempty"`
	Metrics     map[string]Float64 `json:"metrics,omitempty"`
	At          time.Time          `json:"at"`
}

// Float64 is a float64 that survives JSON even when it is NaN or ±Inf
// (encoded as the strings "NaN", "+Inf" and "-Inf"): an aggregator that
// refuses a non-finite update may well report a non-finite norm.
type Float64 float64

// MarshalJSON implements json.Marshaler.
func (f Float64) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float64) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = Float64(math.NaN())
		return nil
	case `"+Inf"`:
		*f = Float64(math.Inf(1))
		return nil
	case `"-Inf"`:
		*f = Float64(math.Inf(-1))
		return nil
	}
	if bytes.HasPrefix(b, []byte(`"`)) {
		return fmt.Errorf("round: %s is not a number", b)
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float64(v)
	return nil
}

// Snapshot returns a deep copy of the machine's state.
func (m *Machine) Snapshot() Snapshot {
	s := Snapshot{
		Version:           SnapshotVersion,
		Params:            m.p,
		State:             m.state,
		Reason:            m.reason,
		OpenedAt:          m.openedAt,
		ReadyDeadline:     m.readyDeadline,
		CollectingSince:   m.collectingSince,
		Deadline:          m.deadline,
		ClosedAt:          m.closedAt,
		AggregateDeadline: m.aggregateDeadline,
		FinishedAt:        m.finishedAt,
		ModelSHA256:       slices.Clone(m.modelSHA256),
	}
	s.Params.Expected = slices.Clone(m.p.Expected)
	for _, id := range m.p.Expected {
		sub := m.subs[id]
		if sub == nil {
			continue
		}
		ss := SubmissionSnapshot{
			Participant: id,
			Attempts:    sub.attempts,
			InFlight:    sub.inFlight,
			Dropped:     sub.dropped,
			Accepted:    sub.accepted,
			Included:    sub.included,
			Reason:      sub.reason,
			NumExamples: sub.numExamples,
			UpdateNorm:  Float64(sub.updateNorm),
			At:          sub.at,
		}
		if len(sub.metrics) > 0 {
			ss.Metrics = make(map[string]Float64, len(sub.metrics))
			for k, v := range sub.metrics {
				ss.Metrics[k] = Float64(v)
			}
		}
		s.Submissions = append(s.Submissions, ss)
	}
	return s
}

// Restore rebuilds a Machine from a snapshot taken by Snapshot (possibly
// through encoding/json). It checks that the snapshot is one a machine could
// have produced and returns an error describing the first inconsistency
// otherwise. The machine does not share memory with s.
func Restore(s Snapshot) (*Machine, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("round: invalid snapshot: %w", err)
	}
	m := newMachine(s.Params)
	m.state = s.State
	m.reason = s.Reason
	m.openedAt = norm(s.OpenedAt)
	m.readyDeadline = norm(s.ReadyDeadline)
	m.collectingSince = normOrZero(s.CollectingSince)
	m.deadline = normOrZero(s.Deadline)
	m.closedAt = normOrZero(s.ClosedAt)
	m.aggregateDeadline = normOrZero(s.AggregateDeadline)
	m.finishedAt = normOrZero(s.FinishedAt)
	m.modelSHA256 = slices.Clone(s.ModelSHA256)
	for _, ss := range s.Submissions {
		sub := &submission{
			attempts:    ss.Attempts,
			inFlight:    ss.InFlight,
			dropped:     ss.Dropped,
			accepted:    ss.Accepted,
			included:    ss.Included,
			reason:      ss.Reason,
			numExamples: ss.NumExamples,
			updateNorm:  float64(ss.UpdateNorm),
			at:          normOrZero(ss.At),
		}
		if len(ss.Metrics) > 0 {
			sub.metrics = make(map[string]float64, len(ss.Metrics))
			for k, v := range ss.Metrics {
				sub.metrics[k] = float64(v)
			}
		}
		if sub.included {
			m.included++
		}
		m.subs[ss.Participant] = sub
	}
	return m, nil
}

func normOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return norm(t)
}

// check returns the first inconsistency of s.
func (s *Snapshot) check() error {
	if s.Version != SnapshotVersion {
		return fmt.Errorf("version %d, want %d", s.Version, SnapshotVersion)
	}
	if err := s.Params.validate(); err != nil {
		return err
	}
	if !s.State.valid() {
		return fmt.Errorf("invalid state %v", s.State)
	}
	if err := s.checkTimes(); err != nil {
		return err
	}
	if (s.State == FailedState) != (s.Reason != "") {
		return fmt.Errorf("state %v with reason %q", s.State, s.Reason)
	}
	if (s.State == Published) != (len(s.ModelSHA256) != 0) {
		return fmt.Errorf("state %v with a %d-byte model hash", s.State, len(s.ModelSHA256))
	}
	if s.State == Published && len(s.ModelSHA256) != sha256Size {
		return fmt.Errorf("model hash has %d bytes, want %d", len(s.ModelSHA256), sha256Size)
	}
	return s.checkSubmissions()
}

// checkTimes requires exactly the times of the phases the round went
// through: opened; collecting (since and deadline); closed; aggregating
// (deadline); finished.
func (s *Snapshot) checkTimes() error {
	if s.OpenedAt.IsZero() || s.ReadyDeadline.IsZero() {
		return fmt.Errorf("no opened_at or ready_deadline")
	}
	if s.CollectingSince.IsZero() != s.Deadline.IsZero() {
		return fmt.Errorf("collecting_since %v with deadline %v", s.CollectingSince, s.Deadline)
	}
	// The phase times must be a prefix: a later one only with the earlier.
	have := []bool{!s.CollectingSince.IsZero(), !s.ClosedAt.IsZero(), !s.AggregateDeadline.IsZero()}
	level := 0
	for level < len(have) && have[level] {
		level++
	}
	if slices.Contains(have[level:], true) {
		return fmt.Errorf("phase times out of order (collecting_since %v, closed_at %v, aggregate_deadline %v)",
			s.CollectingSince, s.ClosedAt, s.AggregateDeadline)
	}
	// Levels each state allows: a failed round failed while open (0), while
	// collecting (which closes collection: 2) or while aggregating (3).
	allowed := map[State][]int{Open: {0}, Collecting: {1}, Aggregating: {3}, Published: {3}, FailedState: {0, 2, 3}}
	if !slices.Contains(allowed[s.State], level) {
		return fmt.Errorf("state %v with the times of phase %d", s.State, level)
	}
	if s.FinishedAt.IsZero() == s.State.Terminal() {
		return fmt.Errorf("state %v with finished_at %v", s.State, s.FinishedAt)
	}
	return nil
}

// checkSubmissions requires submissions from expected participants only,
// in order, each consistent, and an included count the state allows.
func (s *Snapshot) checkSubmissions() error {
	expected := make(map[string]bool, len(s.Params.Expected))
	for _, id := range s.Params.Expected {
		expected[id] = true
	}
	if len(s.Submissions) > 0 && s.CollectingSince.IsZero() {
		return fmt.Errorf("submissions in a round that never collected")
	}
	included := 0
	for i, ss := range s.Submissions {
		switch {
		case !expected[ss.Participant]:
			return fmt.Errorf("submission from unexpected participant %q", ss.Participant)
		case i > 0 && ss.Participant <= s.Submissions[i-1].Participant:
			return fmt.Errorf("submissions not sorted or duplicated at %q", ss.Participant)
		case ss.Attempts < 1:
			return fmt.Errorf("submission from %q with %d attempts", ss.Participant, ss.Attempts)
		case ss.InFlight && s.State != Collecting:
			return fmt.Errorf("%q in flight in state %v", ss.Participant, s.State)
		case ss.InFlight && (ss.Dropped || ss.Included):
			return fmt.Errorf("%q both in flight and dropped or included", ss.Participant)
		case ss.Included && (!ss.Accepted || ss.Dropped || ss.Reason != ""):
			return fmt.Errorf("%q included but not accepted, or dropped, or with a reason", ss.Participant)
		case !ss.InFlight && !ss.Included && ss.Reason == "":
			return fmt.Errorf("%q neither in flight nor included, and no reason", ss.Participant)
		}
		if ss.Included {
			included++
		}
	}
	switch s.State {
	case Collecting:
		if included == len(s.Params.Expected) {
			return fmt.Errorf("every expected participant included, yet still collecting")
		}
	case Aggregating, Published:
		if included < s.Params.Min {
			return fmt.Errorf("%d included, below the minimum %d, yet %v", included, s.Params.Min, s.State)
		}
	}
	return nil
}
