package round

import (
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Proto returns the wire form of s (ROUND_STATE_UNSPECIFIED for a value
// that is not a state).
func (s State) Proto() confedv1.RoundState {
	switch s {
	case Open:
		return confedv1.RoundState_ROUND_STATE_OPEN
	case Collecting:
		return confedv1.RoundState_ROUND_STATE_COLLECTING
	case Aggregating:
		return confedv1.RoundState_ROUND_STATE_AGGREGATING
	case Published:
		return confedv1.RoundState_ROUND_STATE_PUBLISHED
	case FailedState:
		return confedv1.RoundState_ROUND_STATE_FAILED
	}
	return confedv1.RoundState_ROUND_STATE_UNSPECIFIED
}

// Status returns a new operator view of the round, which the caller may
// modify. Deadline is the collection deadline and ClosedAt when collection
// closed (both unset until then); FinishedAt when the round was published
// or failed. Submissions has one entry per participant
// ever admitted, sorted, describing its latest attempt; an attempt still in
// flight has the reason "in flight since <time>". The machine does not know
// TeeKind and Insecure; the caller fills them in.
func (m *Machine) Status() *confedv1.RoundStatus {
	st := &confedv1.RoundStatus{
		Round:                m.p.Round,
		State:                m.state.Proto(),
		Reason:               m.reason,
		OpenedAt:             timestamp(m.openedAt),
		Deadline:             timestamp(m.deadline),
		ClosedAt:             timestamp(m.closedAt),
		FinishedAt:           timestamp(m.finishedAt),
		ModelSha256:          slices.Clone(m.modelSHA256),
		MinParticipants:      uint32(min(uint64(m.p.Min), math.MaxUint32)),
		ExpectedParticipants: slices.Clone(m.p.Expected),
	}
	for _, id := range m.p.Expected {
		s := m.subs[id]
		if s == nil {
			continue
		}
		reason := s.reason
		if s.inFlight {
			reason = "in flight since " + stamp(s.at)
		}
		st.Submissions = append(st.Submissions, &confedv1.SubmissionStatus{
			Participant: id,
			Accepted:    s.accepted,
			Included:    s.included,
			Reason:      reason,
			NumExamples: s.numExamples,
			UpdateNorm:  s.updateNorm,
			Metrics:     cloneMetrics(s.metrics),
			At:          timestamp(s.at),
		})
	}
	return st
}

// timestamp converts t, leaving the zero time unset.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
