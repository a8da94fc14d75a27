package coordinator

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/round"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// maxConsecutiveFailures stops the federation when rounds keep failing, so
// that a broken set-up does not spin forever.
const maxConsecutiveFailures = 5

// engine holds the federation's state. Every method takes mu; the gRPC
// handlers and the ticker call them, and nothing else touches the state.
type engine struct {
	mu       sync.Mutex
	log      *slog.Logger
	now      func() time.Time
	rc       roundconfig.Config
	cfgSHA   [32]byte
	store    *store.Store
	verifier tee.Verifier
	aggAddr  string
	spec     model.Spec
	// participantPolicy is the YAML of the policy participants must meet,
	// sent to the aggregator with each round (nil: they need not attest).
	participantPolicy []byte

	m *round.Machine // the round in progress, nil between rounds
	// updateSHA holds the update hash the aggregator reported for each
	// included participant of the round in progress.
	updateSHA map[string][]byte
	// events are the problems participants reported in the round in
	// progress (e.g. refusing the aggregator's attestation).
	events    []*confedv1.RoundEvent
	nextRound uint64
	published int
	latest    *published
	failures  int
	finished  bool
	finishMsg string

	initPending bool // INIT sent to the aggregator, round 0 not yet published
	waitSince   time.Time

	// priv is the differential-privacy accounting; nil without DP (privacy.go).
	priv *privacy
	// secagg is the rounds' SecAgg+ sessions (secagg.go).
	secagg secAggState

	// stopping is set when the coordinator shuts down: from then on no
	// event changes a round, so the restart's recovery records what
	// happened to the round in flight. shutdown is closed at the same time
	// to end the long-lived streams.
	stopping bool
	shutdown chan struct{}

	agg          *aggSession
	tree         *coordTree // the aggregation tree, nil without one (tree.go)
	participants map[string]*partSession
	metrics      *coordMetrics // nil: not instrumented
	nextID       uint64
	subs         map[chan struct{}]struct{}
	view         viewState // shown by the dashboard only (view.go)
}

type published struct {
	round uint64
	sha   [32]byte
}

func newEngine(log *slog.Logger, now func() time.Time, rc roundconfig.Config, st *store.Store, v tee.Verifier, aggAddr string) *engine {
	return &engine{
		log: log, now: now, rc: rc, cfgSHA: rc.SHA256(), store: st, verifier: v, aggAddr: aggAddr,
		participants: map[string]*partSession{}, subs: map[chan struct{}]struct{}{},
		shutdown: make(chan struct{}), tree: newCoordTree(rc),
	}
}

// recover loads what the store holds: the latest model, the count of
// published rounds, and fails any round that was in flight when the
// coordinator stopped (the aggregator's state for it is gone too).
func (e *engine) recover() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ensureGenesis(); err != nil {
		return err
	}
	rounds, err := e.store.Rounds()
	if err != nil {
		return fmt.Errorf("reading rounds: %w", err)
	}
	if err := e.recoverPrivacy(rounds); err != nil {
		return err
	}
	for _, st := range rounds {
		if st.GetRound() >= e.nextRound {
			e.nextRound = st.GetRound() + 1
		}
		switch st.GetState() {
		case confedv1.RoundState_ROUND_STATE_PUBLISHED:
			if st.GetRound() > 0 {
				e.published++
			}
		case confedv1.RoundState_ROUND_STATE_FAILED:
		default:
			if err := e.failStored(st, "coordinator restarted while the round was "+stateName(st.GetState())); err != nil {
				return err
			}
		}
	}
	r, ok, err := e.store.LatestModelRound()
	if err != nil {
		return fmt.Errorf("finding latest model: %w", err)
	}
	if ok {
		mr, err := e.store.OpenModel(r)
		if err != nil {
			return fmt.Errorf("opening model of round %d: %w", r, err)
		}
		e.latest = &published{round: r, sha: mr.SHA256()}
	}
	if e.nextRound == 0 {
		e.nextRound = 1
	}
	if e.latest != nil && e.published >= e.rc.Rounds {
		e.finished = true
		e.finishMsg = fmt.Sprintf("all %d rounds published", e.rc.Rounds)
	}
	if e.latest != nil && !e.finished {
		e.privacyAllowsRound() // a spent budget finishes the federation at once
	}
	e.waitSince = e.now()
	e.log.Info("federation loaded", "federation", e.rc.Federation, "published_rounds", e.published,
		"planned_rounds", e.rc.Rounds, "next_round", e.nextRound)
	return nil
}

func (e *engine) ensureGenesis() error {
	entries, err := e.store.Ledger()
	if err != nil {
		return fmt.Errorf("reading ledger: %w", err)
	}
	if len(entries) > 0 {
		return nil
	}
	rec := ledger.Record{
		Kind: "genesis", Federation: e.rc.Federation, ConfigSHA256: hexs(e.cfgSHA[:]),
		TEEKind: e.teeKind(), Insecure: e.insecure(), Time: e.now().UTC(),
	}
	_, err = e.store.AppendLedger(nil, rec)
	return err
}

func (e *engine) failStored(st *confedv1.RoundStatus, reason string) error {
	st.State = confedv1.RoundState_ROUND_STATE_FAILED
	st.Reason = reason
	st.ClosedAt = timestamppb.New(e.now())
	st.Privacy = e.privacyStatus(st)
	rec := e.failedRecord(st.GetRound(), reason)
	if _, err := e.store.AppendLedger(st, rec); err != nil {
		return fmt.Errorf("recording failure of round %d: %w", st.GetRound(), err)
	}
	e.log.Warn("round failed", logging.KeyRound, st.GetRound(), logging.KeyReason, reason)
	return nil
}

func (e *engine) failedRecord(r uint64, reason string) ledger.Record {
	return ledger.Record{
		Kind: "round", Federation: e.rc.Federation, Round: r, State: "failed", Reason: reason,
		ConfigSHA256: hexs(e.cfgSHA[:]), TEEKind: e.teeKind(), Insecure: e.insecure(), Time: e.now().UTC(),
		Privacy: e.privacyFailedRecord(r),
	}
}

// beginShutdown freezes the federation's state and ends the streams.
func (e *engine) beginShutdown() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.stopping {
		e.stopping = true
		close(e.shutdown)
	}
}

// errStopping refuses events that arrive while the coordinator shuts down.
var errStopping = errors.New("the coordinator is shutting down")

// tick drives deadlines and starts rounds when the federation is ready.
func (e *engine) tick() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished || e.stopping {
		return
	}
	now := e.now()
	if e.m != nil {
		e.apply(e.m.Tick(now))
		return
	}
	e.maybeStart(now)
}

func (e *engine) maybeStart(now time.Time) {
	if e.agg == nil || !e.treeConnected() {
		return
	}
	if e.latest == nil {
		if !e.initPending {
			e.sendInit()
		}
		return
	}
	if e.published >= e.rc.Rounds {
		e.finish(fmt.Sprintf("all %d rounds published", e.rc.Rounds))
		return
	}
	if !e.privacyAllowsRound() {
		return
	}
	connected := e.connectedExpected()
	all := len(connected) == len(e.rc.Participants.Expected)
	waited := now.Sub(e.waitSince) >= time.Duration(e.rc.Timing.JoinTimeout)
	if len(connected) < e.rc.Participants.Min || (!all && !waited) {
		return
	}
	e.openRound(now)
}

func (e *engine) connectedExpected() []string {
	var out []string
	for _, name := range e.rc.Participants.Expected {
		if _, ok := e.participants[name]; ok {
			out = append(out, name)
		}
	}
	return out
}

func (e *engine) sendInit() {
	e.initPending = true
	e.log.Info("asking the aggregator for the initial model")
	e.sendAgg(&confedv1.AggregationTask{
		Kind: confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_INIT, Round: 0,
		Federation: e.rc.Federation, ConfigSha256: e.cfgSHA[:], Model: e.modelSpec(), Params: e.aggParams(),
	})
}

func (e *engine) openRound(now time.Time) {
	n := e.nextRound
	m, err := round.New(round.Params{
		Round: n, Expected: e.rc.Participants.Expected, Min: e.rc.Participants.Min,
		ReadyTimeout:     time.Duration(e.rc.Timing.AggregatorReadyTimeout),
		CollectTimeout:   time.Duration(e.rc.Timing.RoundDeadline),
		AggregateTimeout: time.Duration(e.rc.Timing.AggregationTimeout),
	}, now)
	if err != nil {
		e.finish(fmt.Sprintf("cannot open round %d: %v", n, err))
		return
	}
	e.m = m
	e.updateSHA = map[string][]byte{}
	e.events = nil
	e.nextRound++
	e.persist()
	e.metrics.roundOpened(n)
	e.log.Info("round opened", logging.KeyRound, n, "global_round", e.latest.round)
	e.sendOpen(&confedv1.AggregationTask{
		Kind: confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_OPEN, Round: n,
		Federation: e.rc.Federation, GlobalRound: e.latest.round, GlobalModelSha256: e.latest.sha[:],
		Params: e.aggParams(), ExpectedParticipants: e.rc.Participants.Expected,
		ConfigSha256: e.cfgSHA[:], Model: e.modelSpec(), ParticipantPolicy: e.participantPolicy,
		Secagg: e.secAggOpen(n),
	})
}

// apply carries out the effects of a state-machine transition.
func (e *engine) apply(effects []round.Effect) {
	for _, ef := range effects {
		switch ef := ef.(type) {
		case round.StartCollecting:
			e.log.Info("collecting updates", logging.KeyRound, e.m.Round(), "deadline", ef.Deadline)
			for _, p := range e.participants {
				e.sendTrain(p, ef.Deadline)
			}
		case round.CloseCollection:
			e.log.Info("collection closed", logging.KeyRound, e.m.Round(), "included", ef.Include)
			e.sendClose(e.m.Round(), ef.Include)
		case round.Failed:
			e.roundFailed(ef.Reason)
			return
		}
	}
	e.persist()
}

func (e *engine) roundFailed(reason string) {
	reason += e.eventSummary()
	st := e.decorate(e.m.Status())
	st.Reason = reason
	r := e.m.Round()
	e.m = nil
	e.sendAbort(&confedv1.AggregationTask{
		Kind: confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_ABORT, Round: r,
		Federation: e.rc.Federation, Reason: reason,
	})
	if _, err := e.store.AppendLedger(st, e.failedRecord(r, reason)); err != nil {
		e.log.Error("recording failed round", logging.KeyRound, r, logging.KeyErr, err)
	}
	e.log.Warn("round failed", logging.KeyRound, r, logging.KeyReason, reason)
	e.metrics.roundEnded("failed")
	e.failures++
	e.waitSince = e.now()
	if e.failures >= maxConsecutiveFailures {
		e.finish(fmt.Sprintf("stopped after %d consecutive failed rounds; last: %s", e.failures, reason))
	}
	e.notify()
}

func (e *engine) finish(msg string) {
	if e.finished {
		return
	}
	e.finished = true
	e.finishMsg = msg
	e.log.Info("federation finished", logging.KeyReason, msg)
	for _, p := range e.participants {
		trySend(p.tasks, p.kick, &confedv1.Task{Kind: confedv1.TaskKind_TASK_KIND_FINISHED, Federation: e.rc.Federation})
	}
	e.notify()
}

func (e *engine) sendTrain(p *partSession, deadline time.Time) {
	if e.m == nil || !slices.Contains(e.rc.Participants.Expected, p.name) {
		return
	}
	trySend(p.tasks, p.kick, &confedv1.Task{
		Kind: confedv1.TaskKind_TASK_KIND_TRAIN, Round: e.m.Round(), Federation: e.rc.Federation,
		GlobalRound: e.latest.round, GlobalModelSha256: e.latest.sha[:], AggregatorAddress: e.aggregatorFor(p.name),
		Params: e.trainingParams(), Deadline: timestamppb.New(deadline), Attest: e.rc.TEE.ParticipantsAttest(),
		Secagg: e.secAggTrain(deadline),
	})
}

func (e *engine) sendAgg(t *confedv1.AggregationTask) {
	if e.agg == nil {
		return
	}
	if !trySend(e.agg.tasks, e.agg.kick, t) {
		e.log.Error("aggregator task queue full: disconnecting the aggregator")
	}
}

// persist stores the current round's status; failures are logged, and the
// round goes on (the next persist retries).
func (e *engine) persist() {
	if e.m == nil {
		return
	}
	if err := e.store.PutRound(e.decorate(e.m.Status())); err != nil {
		e.log.Error("storing round status", logging.KeyRound, e.m.Round(), logging.KeyErr, err)
	}
	e.notify()
}

func (e *engine) decorate(st *confedv1.RoundStatus) *confedv1.RoundStatus {
	st.TeeKind = e.teeKind()
	st.Insecure = e.insecure()
	st.Events = e.events
	st.Privacy = e.privacyStatus(st)
	return st
}

// teeKind is the kind of evidence the configured aggregator TEE produces.
func (e *engine) teeKind() string {
	if e.insecure() {
		return tee.KindSimulated
	}
	return e.rc.TEE.Aggregator
}

func (e *engine) insecure() bool { return e.rc.TEE.Aggregator == "simulated" }

func (e *engine) notify() {
	for ch := range e.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (e *engine) trainingParams() *confedv1.TrainingParams {
	t := e.rc.Training
	return &confedv1.TrainingParams{
		LocalEpochs: uint32(t.LocalEpochs), LearningRate: t.LearningRate, BatchSize: uint32(t.BatchSize),
		ProximalMu: t.ProximalMu, L2: t.L2, Seed: t.Seed, FixedPoint: e.fixedPoint(),
		Privacy: e.privacyParams(),
	}
}

func (e *engine) aggParams() *confedv1.AggregationParams {
	a := e.rc.Aggregation
	// Resolved was checked when the configuration was validated.
	opt, _ := a.ServerOptimizer.Resolved()
	return &confedv1.AggregationParams{
		Strategy: a.Strategy, MaxUpdateNorm: a.MaxUpdateNorm, MaxUpdateBytes: uint64(a.MaxUpdateBytes),
		TrimFraction: a.TrimFraction, Byzantine: uint32(a.Byzantine), MultikrumM: uint32(a.MultiKrumM), ClipNorm: a.ClipNorm,
		ServerOptimizer: &confedv1.ServerOptimizer{
			Name: opt.Name, ServerLr: opt.ServerLR, ServerMomentum: opt.Momentum,
			Beta1: opt.Beta1, Beta2: opt.Beta2, Tau: opt.Tau, BiasCorrection: opt.BiasCorrection,
		},
		FixedPoint: e.fixedPoint(),
		Privacy:    e.privacyParams(),
	}
}

// fixedPoint is the ring configuration sent with each round, nil when
// updates travel as float32.
func (e *engine) fixedPoint() *confedv1.FixedPoint {
	f := e.rc.Aggregation.FixedPoint
	if !f.Enabled {
		return nil
	}
	return &confedv1.FixedPoint{Bits: uint32(f.Bits), Clip: f.Clip, Scale: f.Scale, MaxWeight: f.MaxWeight,
		MaxParticipants: uint32(len(e.rc.Participants.Expected))}
}

func (e *engine) modelSpec() *confedv1.ModelSpec {
	m := e.rc.Model
	return &confedv1.ModelSpec{Kind: m.Kind, Features: uint32(m.Features), Init: m.Init, Seed: m.Seed}
}

var errNoRound = errors.New("no round is in progress")

func stateName(s confedv1.RoundState) string {
	switch s {
	case confedv1.RoundState_ROUND_STATE_OPEN:
		return "open"
	case confedv1.RoundState_ROUND_STATE_COLLECTING:
		return "collecting"
	case confedv1.RoundState_ROUND_STATE_AGGREGATING:
		return "aggregating"
	case confedv1.RoundState_ROUND_STATE_PUBLISHED:
		return "published"
	case confedv1.RoundState_ROUND_STATE_FAILED:
		return "failed"
	}
	return "unknown"
}
