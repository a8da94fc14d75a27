package participant

import (
	"errors"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/metrics"
	"github.com/confed/confed/internal/metrics/instrument"
	"github.com/confed/confed/internal/metrics/metricscfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// partMetrics is the participant daemon's instrumentation: counts, sizes,
// durations and outcomes, never anything about the data or the update's
// values. Every label comes from a fixed set. A nil *partMetrics records
// nothing.
type partMetrics struct {
	reg           *metrics.Registry
	rounds        *metrics.CounterVec
	trained       *metrics.Counter
	trainSeconds  *metrics.Histogram
	updatesSent   *metrics.Counter
	updateBytes   *metrics.Counter
	refusals      *metrics.CounterVec
	downloads     *metrics.CounterVec
	lastRound     *metrics.Gauge
	connected     *metrics.Gauge
	bytes         *instrument.Bytes
	verifications *instrument.Verifications
}

// Outcomes of a round at a participant, and who refused what.
var (
	partRoundOutcomes = []string{"accepted", "refused", "failed"}
	// refusal reasons: the participant refused the aggregator's evidence
	// (aggregator_attestation), the aggregator refused this participant's
	// (participant_attestation), or the aggregator or coordinator refused
	// the update (instrument.UpdateReasons, late, duplicate).
	partRefusalReasons = append([]string{"aggregator_attestation", "participant_attestation", "late", "duplicate"},
		instrument.UpdateReasons...)
)

func newPartMetrics() *partMetrics {
	r := metrics.NewRegistry()
	m := &partMetrics{reg: r,
		rounds: r.Counter("confed_participant_rounds_total",
			"Training tasks carried out, by outcome (accepted: the update was included; refused: the "+
				"aggregator or coordinator refused it; failed: the round was skipped on an error).", "outcome"),
		trained: r.Counter("confed_participant_rounds_trained_total",
			"Local training runs that completed.").With(),
		trainSeconds: r.Histogram("confed_participant_training_duration_seconds",
			"Duration of local training (including evaluation), per round.", metrics.SecondsShort).With(),
		updatesSent: r.Counter("confed_participant_updates_sent_total",
			"Updates streamed completely to the aggregator.").With(),
		updateBytes: r.Counter("confed_participant_update_bytes_sent_total",
			"Plaintext bytes of the updates streamed to the aggregator (sealed on the wire).").With(),
		refusals: r.Counter("confed_participant_refusals_total",
			"Refusals, by who refused (participant: this daemon refused the aggregator; aggregator: the "+
				"aggregator or coordinator refused this participant or its update) and reason code.", "by", "reason"),
		downloads: r.Counter("confed_participant_model_downloads_total",
			"Global model downloads, by result (ok, error: failed or did not verify).", "result"),
		lastRound: r.Gauge("confed_participant_last_accepted_round",
			"Round of the last update of this participant that was accepted.").With(),
		connected: r.Gauge("confed_participant_connected",
			"1 while this participant follows the coordinator's task stream, else 0.").With(),
		bytes:         instrument.NewBytes(r, "confed_participant"),
		verifications: instrument.NewVerifications(r, "confed_participant"),
	}
	for _, o := range partRoundOutcomes {
		m.rounds.With(o)
	}
	for _, res := range []string{"ok", "error"} {
		m.downloads.With(res)
	}
	m.refusals.With("participant", "aggregator_attestation")
	return m
}

// instrument attaches metrics to d, counts every verification of the
// aggregator's evidence (at the attested handshake and in each model's
// manifest), and serves the metrics as d's configuration says; the
// returned function (never nil) stops serving.
func (d *daemon) instrument(onListen func(net.Addr)) (func(), error) {
	d.metrics = newPartMetrics()
	d.verifier = d.metrics.verifications.Wrap(d.verifier, "aggregator")
	return metricscfg.Serve(d.cfg.Metrics, d.metrics.reg, d.log, onListen)
}

func (m *partMetrics) dialOptions() []grpc.DialOption {
	if m == nil {
		return nil
	}
	return m.bytes.DialOptions()
}

func (m *partMetrics) setConnected(on bool) {
	if m == nil {
		return
	}
	if on {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

func (m *partMetrics) downloaded(err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.downloads.With("error").Inc()
		return
	}
	m.downloads.With("ok").Inc()
}

func (m *partMetrics) trainedIn(d time.Duration) {
	if m != nil {
		m.trained.Inc()
		m.trainSeconds.ObserveDuration(d)
	}
}

func (m *partMetrics) sent(size int64) {
	if m != nil {
		m.updatesSent.Inc()
		m.updateBytes.Add(uint64(size))
	}
}

// roundDone counts the outcome of one training task.
func (m *partMetrics) roundDone(round uint64, resp *confedv1.SubmitUpdateResponse, err error) {
	if m == nil {
		return
	}
	var refused *aggregatorRefused
	var refusedBy *refusedByAggregator
	switch {
	case errors.As(err, &refused):
		m.rounds.With("failed").Inc()
		m.refusals.With("participant", "aggregator_attestation").Inc()
	case errors.As(err, &refusedBy):
		m.rounds.With("failed").Inc()
		m.refusals.With("aggregator", "participant_attestation").Inc()
	case err != nil:
		m.rounds.With("failed").Inc()
	case !resp.GetAccepted():
		m.rounds.With("refused").Inc()
		m.refusals.With("aggregator", instrument.Code(resp.GetReason(), partRefusalReasons)).Inc()
	default:
		m.rounds.With("accepted").Inc()
		m.lastRound.Set(float64(round))
	}
}
