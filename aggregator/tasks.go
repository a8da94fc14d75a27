package aggregator

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/confed/confed/aggregator/strategy"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/internal/offheap"
	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/version"
	"github.com/confed/confed/internal/yamlcfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
	"google.golang.org/protobuf/proto"
)

// foldWait bounds how long CLOSE waits for included updates to be folded.
const foldWait = 30 * time.Second

// followCoordinator keeps a WatchRounds stream open, reconnecting with
// backoff, and carries out each task in order.
func (s *Server) followCoordinator(ctx context.Context) {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := s.watch(ctx)
		s.dropRound("connection to the coordinator lost")
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("coordinator stream ended; reconnecting", logging.KeyErr, err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (s *Server) watch(ctx context.Context) error {
	pub := s.signer.Key.Public().(ed25519.PublicKey)
	stream, err := s.ctrl.WatchRounds(ctx, &confedv1.WatchRoundsRequest{
		SignerPublicKey: pub,
		Evidence:        &confedv1.Evidence{Kind: s.signer.Evidence.Kind, Raw: s.signer.Evidence.Raw},
		SoftwareVersion: version.String(),
	})
	if err != nil {
		return err
	}
	for {
		t, err := stream.Recv()
		if err != nil {
			return err
		}
		s.handle(ctx, t)
	}
}

func (s *Server) handle(ctx context.Context, t *confedv1.AggregationTask) {
	var err error
	switch t.GetKind() {
	case confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_INIT:
		err = s.initModel(ctx, t)
	case confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_OPEN:
		restore := tightGC()
		err = s.openRound(ctx, t)
		restore()
		defer releaseMemory() // the global model downloaded to open the round
	case confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_CLOSE:
		restore := tightGC()
		err = s.closeRound(ctx, t)
		restore()
		defer releaseMemory()
	case confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_ABORT:
		s.log.Warn("round aborted by the coordinator", logging.KeyRound, t.GetRound(), logging.KeyReason, t.GetReason())
		s.dropRound(t.GetReason())
		defer releaseMemory()
	default:
		err = fmt.Errorf("unknown task kind %v", t.GetKind())
	}
	s.metrics.taskDone(t, err)
	if err != nil {
		s.log.Error("task failed", logging.KeyRound, t.GetRound(), "task", t.GetKind().String(), logging.KeyErr, err)
		s.dropRound(err.Error())
		if errors.Is(err, errFailReported) { // a tree's root reported it first (tree_root.go)
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, ferr := s.ctrl.FailRound(rctx, &confedv1.FailRoundRequest{Round: t.GetRound(), Reason: err.Error()}); ferr != nil {
			s.log.Error("reporting failure to the coordinator", logging.KeyErr, ferr)
		}
	}
}

// initSpec is the initial model that task t describes.
func initSpec(t *confedv1.AggregationTask) model.InitSpec {
	ms := t.GetModel()
	return model.InitSpec{Kind: ms.GetKind(), Features: int(ms.GetFeatures()), Init: ms.GetInit(), Seed: ms.GetSeed()}
}

func (s *Server) initModel(ctx context.Context, t *confedv1.AggregationTask) error {
	m, err := model.Init(initSpec(t))
	if err != nil {
		return fmt.Errorf("initial model: %w", err)
	}
	_, err = s.publish(ctx, t, m, nil, nil, nil, false)
	return err
}

func (s *Server) openRound(ctx context.Context, t *confedv1.AggregationTask) error {
	d, err := s.downloadGlobal(ctx, t)
	if err != nil {
		return err
	}
	// The round keeps only what it learns from the model (its shape,
	// whether it collects statistics), not the model.
	defer freeModel(d.Model)
	s.dropRound("a new round opens")
	// A round allocates the sizes of the last one, whose mappings offheap
	// keeps for reuse, unless it sums in another layout (the fixed-point
	// rounds after the float statistics round): then the kept mappings
	// would only add to the new round's memory.
	layout := layoutOf(t, d.Model)
	if layout != s.lastLayout {
		if err := offheap.Trim(); err != nil {
			s.log.Warn("returning the last round's memory", logging.KeyErr, err)
		}
		s.lastLayout = layout
	}
	rs, err := newRoundState(t, d.Model, d.SHA256, layout, s.cfg.MaxConcurrentUpdates, s.cfg.SpillDir)
	if err != nil {
		return err
	}
	opened := false
	defer func() {
		if !opened {
			_ = rs.release()
		}
	}()
	if rs.dp, err = newDPRound(t.GetParams().GetPrivacy(), rs.frozen, statisticsRound(d.Model)); err != nil {
		return err
	}
	if rs.participants, err = s.participantVerifier(t.GetParticipantPolicy()); err != nil {
		return err
	}
	if rs.secagg, err = s.openSecAgg(t, d.Model); err != nil {
		return err
	}
	s.tree.open(t)
	s.mu.Lock()
	s.cur, opened = rs, true
	s.mu.Unlock()
	if _, err := s.ctrl.RoundReady(ctx, &confedv1.RoundReadyRequest{Round: t.GetRound()}); err != nil {
		return fmt.Errorf("announcing readiness: %w", err)
	}
	s.log.Info("round open", logging.KeyRound, t.GetRound(), "global_round", t.GetGlobalRound())
	return nil
}

func (s *Server) closeRound(ctx context.Context, t *confedv1.AggregationTask) error {
	rs, err := s.round(t.GetRound())
	if err != nil {
		return err
	}
	if done, err := s.closeTree(ctx, t, rs); done {
		return err
	}
	if done, err := s.closeSecAgg(ctx, t, rs); done {
		return err
	}
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
	if err := s.checkMinUpdates(len(t.GetInclude())); err != nil {
		return err
	}
	contribs, err := rs.foldedContributions(ctx, t.GetInclude())
	if err != nil {
		return err
	}
	return s.finishRound(ctx, rs, func() (strategy.DeltaSource, error) { return s.combine(rs) }, contribs)
}

// checkMinUpdates refuses to publish an aggregate of n updates when n is
// below min_updates.
func (s *Server) checkMinUpdates(n int) error {
	if n < s.cfg.MinUpdates {
		return fmt.Errorf("refusing to aggregate %d update(s): fewer than min_updates (%d), the aggregate would reveal individual updates", n, s.cfg.MinUpdates)
	}
	return nil
}

// foldedContributions waits, at most foldWait, until every update in
// include has been folded and returns their contributions, in order.
func (rs *roundState) foldedContributions(ctx context.Context, include []string) ([]*confedv1.Contribution, error) {
	wctx, cancel := context.WithTimeout(ctx, foldWait)
	defer cancel()
	if err := rs.waitFolded(wctx, include); err != nil {
		return nil, err
	}
	return rs.contributions(include)
}

// finishRound is the end of every publishing close path (single, tree root,
// secure aggregation): it frees the staging buffers, downloads the global
// model again, takes the round's delta (after the download, so that the sum
// is spent only once the base model is in hand), applies the server
// optimiser, forgets the round and publishes the signed next model.
func (s *Server) finishRound(ctx context.Context, rs *roundState, delta func() (strategy.DeltaSource, error),
	contribs []*confedv1.Contribution) error {
	rs.releaseStaging(ctx)
	releaseMemory() // before the global model is downloaded again
	global, err := s.downloadGlobal(ctx, rs.task)
	if err != nil {
		return err
	}
	defer freeModel(global.Model) // published below, then no longer used
	d, err := delta()
	if err != nil {
		return fmt.Errorf("aggregating: %w", err)
	}
	next, err := s.nextModel(rs, global.Model, d)
	if err != nil {
		return fmt.Errorf("aggregating: %w", err)
	}
	masked := rs.secagg != nil
	s.dropRound("")
	// rs.dpApplied is set by delta (combine's central DP); nil in a masked round.
	sum, err := s.publish(ctx, rs.task, next, rs.globalSHA[:], contribs, rs.dpApplied, masked)
	if err == nil {
		s.optBase = sum
	}
	return err
}

// downloadGlobal downloads the global model that round task t starts
// from and verifies its signature, evidence, hash and shape. The round
// downloads it twice: when it opens (to check it and learn whether the
// round collects feature statistics) and when it closes (to build the next
// model on), so as not to hold it in memory while updates arrive. The
// model is decoded into a vector outside the Go heap, which the caller
// gives back with freeModel once done with the model.
func (s *Server) downloadGlobal(ctx context.Context, t *confedv1.AggregationTask) (*modelio.Downloaded, error) {
	spec, err := model.SpecOf(initSpec(t)) // the shape alone: no model is built
	if err != nil {
		return nil, fmt.Errorf("model spec: %w", err)
	}
	stream, err := s.fed.DownloadModel(ctx, &confedv1.DownloadModelRequest{Round: proto.Uint64(t.GetGlobalRound()), ChunkSize: uint32(s.cfg.ChunkSize)})
	if err != nil {
		return nil, fmt.Errorf("downloading global model of round %d: %w", t.GetGlobalRound(), err)
	}
	d, err := modelio.Receive(ctx, stream, modelio.Expect{
		Federation: s.federation, Verifier: s.verifier, Spec: spec, SHA256: t.GetGlobalModelSha256(),
		MaxBytes: model.SafetensorsSize(spec),
		Alloc:    offheap.Make[float32], Free: func(v []float32) { _ = offheap.Free(v) },
	})
	if err != nil {
		return nil, fmt.Errorf("global model of round %d: %w", t.GetGlobalRound(), err)
	}
	return d, nil
}

// freeModel unmaps the vector of a model that downloadGlobal returned; m
// must not be used afterwards.
func freeModel(m *model.Model) {
	if flat, ok := m.Backing(); ok {
		_ = offheap.Free(flat)
	}
}

// participantVerifier builds the verifier of the round's participant
// policy (YAML from the coordinator); nil when participants need not attest.
func (s *Server) participantVerifier(policy []byte) (tee.Verifier, error) {
	if len(policy) == 0 {
		return nil, nil
	}
	var p provider.Policy
	if _, err := yamlcfg.Decode("participant policy", policy, &p); err != nil {
		return nil, err
	}
	// Where collateral is cached and which offline bundle is read are this
	// machine's business, not the coordinator's: take them from the
	// aggregator's own configuration.
	own := s.cfg.Attestation
	p.SEVSNP.Collateral.CacheDir, p.SEVSNP.Collateral.Bundle = own.SEVSNP.Collateral.CacheDir, own.SEVSNP.Collateral.Bundle
	p.TDX.Collateral.CacheDir = own.TDX.Collateral.CacheDir
	v, err := provider.Verifier(p, s.teeOpts, s.hooks)
	if err != nil {
		return nil, fmt.Errorf("participant policy: %w", err)
	}
	return v, nil
}

// roundVerifier verifies participants' evidence at the attested handshake
// against the policy of the round being collected.
type roundVerifier struct{ s *Server }

// Verify implements tee.Verifier.
func (v roundVerifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	v.s.mu.Lock()
	rs := v.s.cur
	v.s.mu.Unlock()
	if ok, claims, err := v.s.treeVerify(ctx, rs, ev, reportData); ok {
		return claims, err
	}
	if rs == nil || rs.participants == nil {
		return tee.Claims{}, errors.New("no open round asks participants to attest")
	}
	claims, err := rs.participants.Verify(ctx, ev, reportData)
	v.s.metrics.verified("participant", ev.Kind, err)
	return claims, err
}

// binding is what the aggregator binds into the evidence of each attested
// connection: the round it is collecting and that round's public key, or
// no key between rounds.
func (s *Server) binding() []byte {
	b := seal.AggregatorBinding{SigningKey: s.signer.Key.Public().(ed25519.PublicKey)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.mu.Lock()
		if !s.cur.closed {
			b.Round, b.RoundKey = s.cur.task.GetRound(), s.cur.key.PublicKey()
		}
		s.cur.mu.Unlock()
	}
	return b.Marshal()
}

// round returns the state of round r if it is the one held.
func (s *Server) round(r uint64) (*roundState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.task.GetRound() != r {
		return nil, fmt.Errorf("round %d is not open at this aggregator", r)
	}
	return s.cur, nil
}

// dropRound forgets the current round and everything held for it.
func (s *Server) dropRound(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && reason != "" {
		s.log.Info("dropping round state", logging.KeyRound, s.cur.task.GetRound(), logging.KeyReason, reason)
	}
	if s.cur != nil {
		if err := s.cur.release(); err != nil {
			s.log.Warn("removing the spill file", logging.KeyErr, err)
		}
	}
	s.cur = nil
}
