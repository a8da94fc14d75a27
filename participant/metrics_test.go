package participant

import (
	"errors"
	"fmt"
	"testing"

	"github.com/confed/confed/internal/metrics/instrument"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// TestRoundDoneCounts classifies each way a training task can end.
func TestRoundDoneCounts(t *testing.T) {
	m := newPartMetrics()
	m.roundDone(1, nil, fmt.Errorf("submitting: %w", &aggregatorRefused{err: errors.New("measurement differs")}))
	m.roundDone(2, nil, &refusedByAggregator{err: errors.New("policy")})
	m.roundDone(3, nil, errors.New("downloading: unavailable"))
	m.roundDone(4, &confedv1.SubmitUpdateResponse{Reason: "norm_exceeded: L2 norm 3 exceeds 1"}, nil)
	m.roundDone(5, &confedv1.SubmitUpdateResponse{Reason: "late: collection for round 5 closed at x"}, nil)
	m.roundDone(6, &confedv1.SubmitUpdateResponse{Reason: "something unforeseen"}, nil)
	m.roundDone(7, &confedv1.SubmitUpdateResponse{Accepted: true}, nil)
	for _, c := range []struct {
		what      string
		got, want uint64
	}{
		{"failed", m.rounds.With("failed").Value(), 3},
		{"refused", m.rounds.With("refused").Value(), 3},
		{"accepted", m.rounds.With("accepted").Value(), 1},
		{"we refused the aggregator", m.refusals.With("participant", "aggregator_attestation").Value(), 1},
		{"the aggregator refused us", m.refusals.With("aggregator", "participant_attestation").Value(), 1},
		{"norm", m.refusals.With("aggregator", "norm_exceeded").Value(), 1},
		{"late", m.refusals.With("aggregator", "late").Value(), 1},
		{"other", m.refusals.With("aggregator", instrument.Other).Value(), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	if v := m.lastRound.Value(); v != 7 {
		t.Errorf("last accepted round %v, want 7", v)
	}
	var nilMetrics *partMetrics
	nilMetrics.roundDone(1, nil, nil) // a daemon without metrics
}
