package coordinator

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/confed/confed/coordinator/round"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func hexs(b []byte) string { return hex.EncodeToString(b) }

// attachAggregator registers a verified aggregator. Only one may be
// connected at a time.
func (e *engine) attachAggregator(name string, pub ed25519.PublicKey, claims tee.Claims) (*aggSession, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, handled, err := e.attachTreeNode(name, pub, claims); handled {
		return s, err
	}
	if e.agg != nil {
		return nil, fmt.Errorf("aggregator %q is already connected", e.agg.name)
	}
	e.nextID++
	s := &aggSession{id: e.nextID, name: name, pub: pub, claims: claims,
		tasks: make(chan *confedv1.AggregationTask, queueSize), kick: make(chan struct{})}
	e.agg = s
	e.log.Info("aggregator connected", logging.KeyPeer, name, logging.KeyTEE, claims.Kind, logging.KeyInsecure, claims.Insecure)
	e.metrics.connected(e.connectedCount(), true)
	e.initPending = false
	return s, nil
}

// detachAggregator forgets s; a round it was working on cannot finish.
func (e *engine) detachAggregator(s *aggSession) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.detachTreeNode(s) || e.agg != s {
		return
	}
	e.agg = nil
	e.initPending = false
	e.metrics.connected(e.connectedCount(), false)
	if e.stopping {
		return
	}
	e.log.Warn("aggregator disconnected", logging.KeyPeer, s.name)
	if e.m != nil {
		effects, err := e.m.Fail("aggregator disconnected during the round", e.now())
		if err == nil {
			e.apply(effects)
		}
	}
}

// attachParticipant registers a participant watching for tasks and hands it
// the current task if a round is collecting.
func (e *engine) attachParticipant(name string, cert []byte) *partSession {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rememberCert(name, cert)
	e.nextID++
	s := &partSession{id: e.nextID, name: name, tasks: make(chan *confedv1.Task, queueSize), kick: make(chan struct{})}
	if old, ok := e.participants[name]; ok {
		close(old.kick)
	}
	e.participants[name] = s
	e.metrics.connected(e.connectedCount(), e.agg != nil)
	e.log.Info("participant watching", logging.KeyParticipant, name)
	switch {
	case e.finished:
		trySend(s.tasks, s.kick, &confedv1.Task{Kind: confedv1.TaskKind_TASK_KIND_FINISHED, Federation: e.rc.Federation})
	case e.m != nil && e.m.State() == round.Collecting:
		e.sendTrain(s, e.m.Status().GetDeadline().AsTime())
	}
	e.notify()
	return s
}

func (e *engine) detachParticipant(s *partSession) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.participants[s.name] == s {
		delete(e.participants, s.name)
		e.metrics.connected(e.connectedCount(), e.agg != nil)
		e.log.Info("participant left", logging.KeyParticipant, s.name)
		e.notify()
	}
}

// current returns the round in progress if it is number r.
func (e *engine) current(r uint64) (*round.Machine, error) {
	if e.stopping {
		return nil, errStopping
	}
	if e.m == nil {
		return nil, fmt.Errorf("round %d is not in progress: %w", r, errNoRound)
	}
	if e.m.Round() != r {
		return nil, fmt.Errorf("round %d is not in progress (round %d is)", r, e.m.Round())
	}
	return e.m, nil
}

func (e *engine) isAggregator(s *aggSession) bool { return e.agg == s }

func (e *engine) roundReady(s *aggSession, r uint64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if handled, err := e.treeRoundReady(s, r); handled {
		return err
	}
	if !e.isAggregator(s) {
		return fmt.Errorf("not the connected aggregator")
	}
	m, err := e.current(r)
	if err != nil {
		return err
	}
	effects, err := m.AggregatorReady(e.now())
	if err != nil {
		return err
	}
	e.apply(effects)
	return nil
}

func (e *engine) admit(r uint64, participant string) round.Decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.current(r)
	if err != nil {
		e.metrics.admissionRefused(err.Error())
		return round.Decision{Reason: err.Error()}
	}
	d := m.Admit(participant, e.now())
	if !d.OK {
		e.metrics.admissionRefused(d.Reason)
		e.log.Warn("submission refused", logging.KeyRound, r, logging.KeyParticipant, participant, logging.KeyReason, d.Reason)
	}
	e.persist()
	return d
}

func (e *engine) complete(res *confedv1.SubmissionResult) round.Decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.current(res.GetRound())
	if err != nil {
		return round.Decision{Reason: err.Error()}
	}
	d, effects := m.Complete(res.GetParticipant(), round.Result{
		Accepted: res.GetAccepted(), Reason: res.GetReason(), NumExamples: res.GetNumExamples(),
		UpdateNorm: res.GetUpdateNorm(), Metrics: res.GetMetrics(),
	}, e.now())
	e.metrics.completed(res, d.OK, d.Reason)
	switch {
	case !res.GetAccepted():
		e.log.Warn("update refused by the aggregator", logging.KeyRound, res.GetRound(),
			logging.KeyParticipant, res.GetParticipant(), logging.KeyReason, res.GetReason())
	case d.OK:
		e.updateSHA[res.GetParticipant()] = res.GetUpdateSha256()
		e.log.Info("update included", logging.KeyRound, res.GetRound(), logging.KeyParticipant, res.GetParticipant(),
			"num_examples", res.GetNumExamples())
	default:
		e.log.Warn("update not included", logging.KeyRound, res.GetRound(), logging.KeyParticipant, res.GetParticipant(),
			logging.KeyReason, d.Reason)
	}
	e.apply(effects)
	e.persist()
	return d
}

func (e *engine) aggregatorFailed(s *aggSession, r uint64, reason string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.isAggregator(s) && !e.isLeaf(s) {
		return fmt.Errorf("not the connected aggregator")
	}
	if r == 0 && e.initPending && e.isAggregator(s) {
		e.log.Error("aggregator could not create the initial model", logging.KeyReason, reason)
		e.finish("aggregator could not create the initial model: " + reason)
		return nil
	}
	m, err := e.current(r)
	if err != nil {
		return err
	}
	effects, err := m.Fail(e.failPrefix(s)+reason, e.now())
	if err != nil {
		return err
	}
	e.apply(effects)
	return nil
}

// subscribe returns a channel signalled whenever the federation's status
// changes, and a function to cancel the subscription.
func (e *engine) subscribe() (<-chan struct{}, func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch := make(chan struct{}, 1)
	e.subs[ch] = struct{}{}
	return ch, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.subs, ch)
	}
}

// reportProblem records a participant's report about the round in progress.
func (e *engine) reportProblem(participant string, r *confedv1.ProblemReport) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.current(r.GetRound()); err != nil {
		return err
	}
	n := 0
	for _, ev := range e.events {
		if ev.GetParticipant() == participant {
			n++
		}
	}
	if n >= maxEventsPerParticipant {
		return fmt.Errorf("participant %q already reported %d problems in round %d", participant, n, r.GetRound())
	}
	e.events = append(e.events, &confedv1.RoundEvent{Participant: participant, Kind: r.GetKind(),
		Reason: r.GetReason(), At: timestamppb.New(e.now())})
	e.metrics.problem(r.GetKind())
	e.log.Warn("participant reported a problem", logging.KeyRound, r.GetRound(), logging.KeyParticipant, participant,
		"kind", r.GetKind(), logging.KeyReason, r.GetReason())
	e.persist()
	return nil
}

// maxEventsPerParticipant bounds the reports one participant may file in a
// round, so that nobody can crowd out the others' reports.
const maxEventsPerParticipant = 8

// eventSummary is appended to a failed round's reason: what participants
// reported, one line each, so the ledger records why they did not take part.
func (e *engine) eventSummary() string {
	if len(e.events) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("; reported by participants:")
	for _, ev := range e.events {
		fmt.Fprintf(&b, " %s: %s: %s;", ev.GetParticipant(), ev.GetKind(), ev.GetReason())
	}
	return strings.TrimSuffix(b.String(), ";")
}
