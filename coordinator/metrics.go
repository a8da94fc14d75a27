package coordinator

import (
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

// Label values of the coordinator's metrics. Every label comes from a
// fixed set, except participant, which is a name from the round
// configuration's participants.expected (anything else counts as "other").
var (
	roundOutcomes     = []string{"published", "failed"}
	admissionReasons  = []string{"late", "duplicate", "in_flight", "not_expected", "not_collecting", "no_round", "not_in_flight"}
	problemKinds      = []string{"round_failed", "aggregator_refused", "refused_by_aggregator", "trainer_failed"}
	downloadAPIs      = map[string]string{"/confed.v1.Federation/DownloadModel": "federation", "/confed.v1.Operator/DownloadModel": "operator"}
	downloadResults   = []string{"ok", "error"}
	validationReasons = instrument.UpdateReasons
)

// coordMetrics is the coordinator's instrumentation. A nil *coordMetrics
// (an engine built without it) records nothing.
type coordMetrics struct {
	reg           *metrics.Registry
	expected      []string
	rounds        *metrics.CounterVec
	roundDuration *metrics.HistogramVec
	currentRound  *metrics.Gauge
	included      *metrics.CounterVec
	refused       *metrics.CounterVec
	participants  *metrics.Gauge
	aggregator    *metrics.Gauge
	problems      *metrics.CounterVec
	downloads     *metrics.CounterVec
	bytes         *instrument.Bytes
	verifications *instrument.Verifications

	mu     sync.Mutex
	opened time.Time // when the round in progress opened (monotonic clock)
}

func newCoordMetrics(expected []string) *coordMetrics {
	r := metrics.NewRegistry()
	m := &coordMetrics{reg: r, expected: expected,
		rounds: r.Counter("confed_coordinator_rounds_total",
			"Rounds (1 and later) that ended since start-up, by outcome (published, failed).", "outcome"),
		roundDuration: r.Histogram("confed_coordinator_round_duration_seconds",
			"Time from a round's opening to its end, by outcome.", metrics.SecondsLong, "outcome"),
		currentRound: r.Gauge("confed_coordinator_current_round",
			"Number of the round in progress, or of the last round opened.").With(),
		included: r.Counter("confed_coordinator_submissions_included_total",
			"Updates included in a round, by participant.", "participant"),
		refused: r.Counter("confed_coordinator_submissions_refused_total",
			"Submissions refused, by stage (admission: the coordinator refused to admit the stream; validation: "+
				"the aggregator refused the update; inclusion: a valid update was not included) and reason code.",
			"stage", "reason"),
		participants: r.Gauge("confed_coordinator_participants_connected",
			"Expected participants with a task stream open.").With(),
		aggregator: r.Gauge("confed_coordinator_aggregator_connected",
			"1 while a verified aggregator is connected, else 0.").With(),
		problems: r.Counter("confed_coordinator_problem_reports_total",
			"Problems participants reported about rounds, by kind.", "kind"),
		downloads: r.Counter("confed_coordinator_model_downloads_total",
			"Model downloads served, by API (federation: participants and the aggregator; operator) and result.",
			"api", "result"),
		bytes:         instrument.NewBytes(r, "confed_coordinator"),
		verifications: instrument.NewVerifications(r, "confed_coordinator"),
	}
	for _, o := range roundOutcomes {
		m.rounds.With(o)
		m.roundDuration.With(o)
	}
	for _, p := range expected {
		m.included.With(p)
	}
	for _, r := range admissionReasons {
		m.refused.With("admission", r)
	}
	for _, k := range problemKinds {
		m.problems.With(k)
	}
	for _, api := range downloadAPIs {
		for _, res := range downloadResults {
			m.downloads.With(api, res)
		}
	}
	return m
}

// instrument attaches m to e: counted verifications of the aggregator's
// evidence and manifests, and the gauges as recovered from the store.
func (e *engine) instrument(m *coordMetrics) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.metrics = m
	e.verifier = m.verifications.Wrap(e.verifier, "aggregator")
	if e.nextRound > 0 {
		m.currentRound.Set(float64(e.nextRound - 1))
	}
}

// startMetrics serves m as cfg says; the returned stop function (never
// nil) closes the listener.
func startMetrics(cfg metricscfg.Config, m *coordMetrics, opts Options) (func(), error) {
	return metricscfg.Serve(cfg, m.reg, opts.Logger, opts.OnMetricsListen)
}

// serverOptions are the interceptors that count bytes and downloads.
func (m *coordMetrics) serverOptions() []grpc.ServerOption {
	if m == nil {
		return nil
	}
	return append(m.bytes.ServerOptions(), grpc.ChainStreamInterceptor(m.countDownloads))
}

func (m *coordMetrics) countDownloads(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	err := h(srv, ss)
	if api, ok := downloadAPIs[info.FullMethod]; ok {
		res := "ok"
		if err != nil {
			res = "error"
		}
		m.downloads.With(api, res).Inc()
	}
	return err
}

func (m *coordMetrics) roundOpened(n uint64) {
	if m == nil {
		return
	}
	m.currentRound.Set(float64(n))
	m.mu.Lock()
	m.opened = time.Now()
	m.mu.Unlock()
}

func (m *coordMetrics) roundEnded(outcome string) {
	if m == nil {
		return
	}
	m.rounds.With(outcome).Inc()
	m.mu.Lock()
	opened := m.opened
	m.opened = time.Time{}
	m.mu.Unlock()
	if !opened.IsZero() {
		m.roundDuration.With(outcome).ObserveDuration(time.Since(opened))
	}
}

func (m *coordMetrics) admissionRefused(reason string) {
	if m != nil {
		m.refused.With("admission", admissionCode(reason)).Inc()
	}
}

// completed counts the coordinator's verdict on an update the aggregator
// reported.
func (m *coordMetrics) completed(res *confedv1.SubmissionResult, included bool, reason string) {
	switch {
	case m == nil:
	case !res.GetAccepted():
		m.refused.With("validation", instrument.Code(res.GetReason(), validationReasons)).Inc()
	case included:
		m.included.With(m.participant(res.GetParticipant())).Inc()
	default:
		m.refused.With("inclusion", admissionCode(reason)).Inc()
	}
}

func (m *coordMetrics) participant(name string) string {
	if slices.Contains(m.expected, name) {
		return name
	}
	return instrument.Other
}

func (m *coordMetrics) problem(kind string) {
	if m != nil {
		m.problems.With(instrument.OneOf(kind, problemKinds...)).Inc()
	}
}

func (m *coordMetrics) connected(participants int, aggregator bool) {
	if m == nil {
		return
	}
	m.participants.Set(float64(participants))
	if aggregator {
		m.aggregator.Set(1)
	} else {
		m.aggregator.Set(0)
	}
}

// admissionCode maps the round machine's and the engine's explanations
// (coordinator/round) onto reason codes.
func admissionCode(reason string) string {
	switch {
	case strings.HasPrefix(reason, "late:"):
		return "late"
	case strings.HasPrefix(reason, "duplicate:"):
		return "duplicate"
	case strings.Contains(reason, "already in flight"):
		return "in_flight"
	case strings.Contains(reason, "is not expected in round"):
		return "not_expected"
	case strings.Contains(reason, "not collecting"):
		return "not_collecting"
	case strings.Contains(reason, errNoRound.Error()), strings.Contains(reason, "is not in progress"):
		return "no_round"
	case strings.Contains(reason, "is in flight"):
		return "not_in_flight"
	}
	return instrument.Other
}

// connectedExpectedCount counts the expected participants with a task
// stream open (e.mu held).
func (e *engine) connectedCount() int { return len(e.connectedExpected()) }
