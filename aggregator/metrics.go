package aggregator

import (
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/metrics"
	"github.com/confed/confed/internal/metrics/instrument"
	"github.com/confed/confed/internal/metrics/metricscfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// aggMetrics is the aggregator's instrumentation. The metrics hold counts,
// sizes, durations and outcomes only: nothing about the values of updates
// or models. Labels come from fixed sets, except participant, which is a
// name the round's task lists as expected ("other" otherwise). A nil
// *aggMetrics records nothing.
type aggMetrics struct {
	reg           *metrics.Registry
	rounds        *metrics.CounterVec
	roundDuration *metrics.HistogramVec
	currentRound  *metrics.Gauge
	accepted      *metrics.CounterVec
	refused       *metrics.CounterVec
	inFlight      *metrics.Gauge
	submitSeconds *metrics.HistogramVec
	bytes         *instrument.Bytes
	verifications *instrument.Verifications

	mu       sync.Mutex
	open     uint64 // round held, 0 for none
	opened   time.Time
	expected []string
}

func newAggMetrics() *aggMetrics {
	r := metrics.NewRegistry()
	m := &aggMetrics{reg: r,
		rounds: r.Counter("confed_aggregator_rounds_total",
			"Rounds this aggregator held that ended, by outcome (published, failed).", "outcome"),
		roundDuration: r.Histogram("confed_aggregator_round_duration_seconds",
			"Time from opening a round to publishing its model or dropping it, by outcome.", metrics.SecondsLong, "outcome"),
		currentRound: r.Gauge("confed_aggregator_current_round",
			"Number of the round last opened here.").With(),
		accepted: r.Counter("confed_aggregator_submissions_accepted_total",
			"Updates validated, included and folded into the round's aggregate, by participant.", "participant"),
		refused: r.Counter("confed_aggregator_submissions_refused_total",
			"Update submissions refused, by reason code.", "reason"),
		inFlight: r.Gauge("confed_aggregator_submissions_in_flight",
			"Admitted update streams being received.").With(),
		submitSeconds: r.Histogram("confed_aggregator_submission_duration_seconds",
			"Time from an update stream's header to the answer, for admitted streams, by outcome (accepted, refused).",
			metrics.SecondsShort, "outcome"),
		bytes:         instrument.NewBytes(r, "confed_aggregator"),
		verifications: instrument.NewVerifications(r, "confed_aggregator"),
	}
	for _, o := range []string{"published", "failed"} {
		m.rounds.With(o)
		m.roundDuration.With(o)
	}
	for _, o := range []string{"accepted", "refused"} {
		m.submitSeconds.With(o)
	}
	for _, r := range instrument.UpdateReasons {
		m.refused.With(r)
	}
	return m
}

func (m *aggMetrics) serverOptions() []grpc.ServerOption {
	if m == nil {
		return nil
	}
	return m.bytes.ServerOptions()
}

func (m *aggMetrics) dialOptions() []grpc.DialOption {
	if m == nil {
		return nil
	}
	return m.bytes.DialOptions()
}

func (m *aggMetrics) roundOpened(r uint64, expected []string) {
	if m == nil {
		return
	}
	m.currentRound.Set(float64(r))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.open, m.opened, m.expected = r, time.Now(), slices.Clone(expected)
}

// roundEnded counts the end of round r if it is the one held, so that a
// round failed here and then aborted by the coordinator counts once.
func (m *aggMetrics) roundEnded(r uint64, outcome string) {
	if m == nil || r == 0 {
		return
	}
	m.mu.Lock()
	if m.open != r {
		m.mu.Unlock()
		return
	}
	opened := m.opened
	m.open = 0
	m.mu.Unlock()
	m.rounds.With(outcome).Inc()
	m.roundDuration.With(outcome).ObserveDuration(time.Since(opened))
}

func (m *aggMetrics) accept(participant string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	known := slices.Contains(m.expected, participant)
	m.mu.Unlock()
	if !known {
		participant = instrument.Other
	}
	m.accepted.With(participant).Inc()
}

// refuse counts a refusal by its reason code: the code err's message
// starts with, or what the header checks' messages say.
func (m *aggMetrics) refuse(code string) {
	if m != nil {
		m.refused.With(instrument.OneOf(code, instrument.UpdateReasons...)).Inc()
	}
}

// refuseErr counts a refusal whose error carries a reason code, or is one
// of the membership and header checks.
func (m *aggMetrics) refuseErr(err error) {
	if m != nil {
		m.refuse(refusalCode(err.Error()))
	}
}

func refusalCode(msg string) string {
	if c := instrument.Code(msg, instrument.UpdateReasons); c != instrument.Other {
		return c
	}
	switch {
	case strings.Contains(msg, "is not expected in this federation"):
		return "not_member"
	case strings.Contains(msg, "to attest"), strings.Contains(msg, "participant policy"):
		return "not_attested"
	case strings.Contains(msg, "is collecting here"), strings.Contains(msg, "no longer collecting"):
		return "round_not_open"
	case strings.Contains(msg, "was trained from model"):
		return "base_model_mismatch"
	case strings.Contains(msg, "the coordinator could not be told"):
		return "coordinator_unavailable"
	}
	return instrument.Other
}

// streamStarted marks an admitted stream; the returned function records
// its end.
func (m *aggMetrics) streamStarted() func(accepted bool) {
	if m == nil {
		return func(bool) {}
	}
	start := time.Now()
	m.inFlight.Inc()
	return func(accepted bool) {
		m.inFlight.Dec()
		outcome := "refused"
		if accepted {
			outcome = "accepted"
		}
		m.submitSeconds.With(outcome).ObserveDuration(time.Since(start))
	}
}

// instrument attaches metrics to s, counts the verifications of earlier
// aggregators' evidence, and serves the metrics as cfg says; the returned
// function (never nil) stops serving.
func (s *Server) instrument(cfg metricscfg.Config, onListen func(net.Addr)) (func(), error) {
	s.metrics = newAggMetrics()
	s.verifier = s.metrics.verifications.Wrap(s.verifier, "aggregator")
	return metricscfg.Serve(cfg, s.metrics.reg, s.log, onListen)
}

// taskDone counts what a task from the coordinator did to the round held.
func (m *aggMetrics) taskDone(t *confedv1.AggregationTask, err error) {
	if m == nil {
		return
	}
	switch t.GetKind() {
	case confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_OPEN:
		if err == nil {
			m.roundOpened(t.GetRound(), t.GetExpectedParticipants())
		}
	case confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_CLOSE:
		if err == nil {
			m.roundEnded(t.GetRound(), "published")
		} else {
			m.roundEnded(t.GetRound(), "failed")
		}
	case confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_ABORT:
		m.roundEnded(t.GetRound(), "failed")
	}
}

func (m *aggMetrics) verified(peer, kind string, err error) {
	if m != nil {
		m.verifications.Observe(peer, kind, err)
	}
}
