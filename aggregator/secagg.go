package aggregator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/secagg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// secAggRound is the aggregator's side of one round's SecAgg+ session
// (docs/secure-aggregation.md): the secagg.Server behind a mutex, the
// participants' live streams, and the staging buffers of masked inputs.
// The key stages (advertise, share keys) are driven by drive, from OPEN;
// the masked inputs arrive on the streams until CLOSE; consistency and
// unmask run in closeSecAgg.
type secAggRound struct {
	cfg          secagg.Config
	round        uint64
	stageTimeout time.Duration
	// pool holds the staging buffers of masked inputs (Length+1 elements).
	pool *fedavg.Pool[uint32]
	// stop is closed when the round is dropped.
	stop     chan struct{}
	stopOnce sync.Once

	mu    sync.Mutex
	srv   *secagg.Server
	peers map[uint32]chan []byte // live streams: server messages to send
	gone  map[uint32]bool        // participants whose stream ended
	wake  chan struct{}          // closed and replaced on every change
	// done is closed when the session is over (result, failure or drop);
	// err is then its failure, nil after a result.
	done chan struct{}
	err  error
}

// maskedRound reports whether round task t masks its updates: secure
// aggregation is on and the round trains (the statistics round, whose
// global model has no feature statistics yet, stays unmasked).
func maskedRound(t *confedv1.AggregationTask, global *model.Model) bool {
	return t.GetSecagg() != nil && t.GetParams().GetFixedPoint() != nil && !statisticsRound(global)
}

// openSecAgg builds the session of round task t, or returns nil when the
// round is not masked, and starts driving its key stages.
func (s *Server) openSecAgg(t *confedv1.AggregationTask, global *model.Model) (*secAggRound, error) {
	if !maskedRound(t, global) {
		return nil, nil
	}
	tlsCfg, err := pki.ServerTLS(pki.Files(s.cfg.TLS))
	if err != nil {
		return nil, fmt.Errorf("secure aggregation: federation CA: %w", err)
	}
	cfg, err := secagg.Session{Federation: s.federation, Round: t.GetRound(), Params: t.GetSecagg(),
		FixedPoint: ringParams(t.GetParams().GetFixedPoint()), Length: global.Spec().NumParams(),
		Roots: tlsCfg.ClientCAs, Now: time.Now()}.Build()
	if err != nil {
		return nil, fmt.Errorf("secure aggregation: %w", err)
	}
	srv, err := secagg.NewServer(cfg)
	if err != nil {
		return nil, fmt.Errorf("secure aggregation: %w", err)
	}
	pool, err := fedavg.NewPool[uint32](cfg.Length+1, stagingBuffers(s.cfg.MaxConcurrentUpdates, layoutMasked))
	if err != nil {
		return nil, err
	}
	timeout := t.GetSecagg().GetStageTimeout().AsDuration()
	if timeout <= 0 {
		return nil, fmt.Errorf("secure aggregation: stage timeout %s, want > 0", timeout)
	}
	sa := &secAggRound{cfg: cfg, round: t.GetRound(), stageTimeout: timeout, pool: pool, stop: make(chan struct{}),
		srv: srv, peers: map[uint32]chan []byte{}, gone: map[uint32]bool{}, wake: make(chan struct{}), done: make(chan struct{})}
	go s.driveKeys(sa)
	s.log.Info("secure aggregation session open", logging.KeyRound, t.GetRound(), "roster", len(cfg.Peers),
		"threshold", cfg.Threshold, "neighbour_degree", cfg.Degree)
	return sa, nil
}

// driveKeys runs the advertise and share-keys stages: each closes when
// every participant it waits for has sent or dropped, or after the stage
// timeout. A session that fails here fails the round.
func (s *Server) driveKeys(sa *secAggRound) {
	for range 2 {
		if err := sa.await(); err != nil {
			return // dropped
		}
		if err := sa.advance(); err != nil {
			s.secAggFailed(sa, err)
			return
		}
	}
}

// secAggFailed tells the coordinator that the round's session failed.
func (s *Server) secAggFailed(sa *secAggRound, err error) {
	reason := secAggReason(err)
	s.log.Warn("secure aggregation failed", logging.KeyRound, sa.round, logging.KeyReason, reason)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, ferr := s.ctrl.FailRound(ctx, &confedv1.FailRoundRequest{Round: sa.round, Reason: reason}); ferr != nil {
		s.log.Error("reporting failure to the coordinator", logging.KeyErr, ferr)
	}
}

// secAggReason is the round's failure reason for a session error:
// secagg_<reason>: detail.
func secAggReason(err error) string {
	if e, ok := errors.AsType[*secagg.RefusedError](err); ok {
		return fmt.Sprintf("secagg_%s: %s", e.Reason, e.Detail)
	}
	return "secagg: " + err.Error()
}

// errSecAggDropped ends waits of a session whose round was dropped.
var errSecAggDropped = errors.New("secure aggregation session dropped with its round")

// await waits until the current stage has nothing left to wait for: every
// participant it expects has sent or dropped. It returns nil then or when
// the stage timeout passes, and errSecAggDropped if the round is dropped.
// The advertise stage's timeout runs from the first advertisement, not
// from OPEN: participants advertise once they have downloaded the round's
// model, which may take longer than a stage for a large model.
func (sa *secAggRound) await() error {
	var timeout <-chan time.Time
	for {
		sa.mu.Lock()
		pending := sa.pending()
		started := sa.srv.Stage() != secagg.StageAdvertise || len(sa.srv.Expected()) < len(sa.cfg.Peers)
		wake := sa.wake
		sa.mu.Unlock()
		if !pending {
			return nil
		}
		if timeout == nil && started {
			timer := time.NewTimer(sa.stageTimeout)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-wake:
		case <-timeout:
			return nil
		case <-sa.stop:
			return errSecAggDropped
		}
	}
}

// pending reports whether a participant the stage expects may still send;
// sa.mu is held.
func (sa *secAggRound) pending() bool {
	if sa.err != nil {
		return false
	}
	for _, id := range sa.srv.Expected() {
		if !sa.gone[id] {
			return true
		}
	}
	return false
}

// advance closes the current stage and hands each live participant its
// message of the next one. A failure fails the session for good.
func (sa *secAggRound) advance() error {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	if sa.err != nil {
		return sa.err
	}
	out, err := sa.srv.Advance()
	if err != nil {
		sa.endLocked(err)
		return err
	}
	for id, msg := range out {
		if ch := sa.peers[id]; ch != nil {
			ch <- msg // buffered for every stage: never blocks
		}
	}
	sa.signalLocked()
	return nil
}

// signalLocked wakes whoever waits for a change; sa.mu is held.
func (sa *secAggRound) signalLocked() {
	close(sa.wake)
	sa.wake = make(chan struct{})
}

// endLocked ends the session with err (nil: it produced its result);
// sa.mu is held.
func (sa *secAggRound) endLocked(err error) {
	select {
	case <-sa.done:
		return
	default:
	}
	sa.err = err
	close(sa.done)
	sa.signalLocked()
}

// attach registers participant id's stream; a participant has one stream
// per round. It returns the channel of server messages for it.
func (sa *secAggRound) attach(id uint32) (chan []byte, error) {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	if sa.peers[id] != nil || sa.gone[id] {
		return nil, fmt.Errorf("%s already opened its secure aggregation stream for round %d", sa.cfg.Peers[id].Name, sa.round)
	}
	ch := make(chan []byte, 8)
	sa.peers[id] = ch
	return ch, nil
}

// detach records that participant id's stream ended: from now on it is a
// dropout, and no stage waits for it.
func (sa *secAggRound) detach(id uint32) {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	delete(sa.peers, id)
	sa.gone[id] = true
	sa.signalLocked()
}

// receive hands a participant's signed message to the server.
func (sa *secAggRound) receive(msg []byte) error {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	if err := sa.srv.Receive(msg); err != nil {
		return err
	}
	sa.signalLocked()
	return nil
}

// begin checks a streamed masked input's signed header.
func (sa *secAggRound) begin(header []byte) (*secagg.Pending, error) {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	return sa.srv.BeginStream(header)
}

// commit adds a staged masked input to the sum.
func (sa *secAggRound) commit(p *secagg.Pending) error {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	if err := p.Commit(); err != nil {
		return err
	}
	sa.signalLocked()
	return nil
}

// finish ends the masked-input stage (CLOSE) and runs consistency and
// unmask, each closing when every survivor has answered or dropped, or
// after the stage timeout; it returns the unmasked sum.
func (sa *secAggRound) finish() (*secagg.Result, error) {
	sa.mu.Lock()
	stage := sa.srv.Stage()
	sa.mu.Unlock()
	if stage != secagg.StageMaskedInput {
		return nil, fmt.Errorf("secure aggregation is at stage %s at CLOSE, not collecting masked inputs", stage)
	}
	for range 3 { // masked input, consistency, unmask
		if err := sa.advance(); err != nil {
			return nil, err
		}
		sa.mu.Lock()
		over := sa.srv.Stage() == 0
		sa.mu.Unlock()
		if over {
			break
		}
		if err := sa.await(); err != nil {
			return nil, err
		}
	}
	sa.mu.Lock()
	defer sa.mu.Unlock()
	res, err := sa.srv.Result()
	sa.endLocked(err)
	return res, err
}

// close drops the session: its waits end, its streams are ended, and the
// server (with every key, share and partial sum) is forgotten.
func (sa *secAggRound) close() {
	sa.stopOnce.Do(func() {
		close(sa.stop)
		sa.pool.Release()
		sa.mu.Lock()
		defer sa.mu.Unlock()
		sa.endLocked(errSecAggDropped)
	})
}

// dropSecAgg drops the round's session, if any (dropRound).
func (r *roundState) dropSecAgg() {
	if r.secagg != nil {
		r.secagg.close()
	}
}

// secAggDelta is the weighted mean of the survivors' updates, read from
// the unmasked ring sum one block at a time as the optimiser asks for it:
// signed(Sum[i]) / (Scale · TotalWeight), as fixedpoint.Sum32 reads its
// sum.
type secAggDelta struct {
	sum   []uint32
	denom float64
}

func newSecAggDelta(res *secagg.Result, p fixedpoint.Params) (secAggDelta, error) {
	if res.TotalWeight == 0 {
		return secAggDelta{}, errors.New("secure aggregation: no weight in the unmasked sum")
	}
	return secAggDelta{sum: res.Sum, denom: p.Scale * float64(res.TotalWeight)}, nil
}

func (d secAggDelta) Len() int { return len(d.sum) }

func (d secAggDelta) Delta(lo int, dst []float64) error {
	if lo < 0 || lo+len(dst) > len(d.sum) {
		return fmt.Errorf("secure aggregation: delta block [%d, %d) outside %d coordinates", lo, lo+len(dst), len(d.sum))
	}
	for i := range dst {
		dst[i] = float64(int32(d.sum[lo+i])) / d.denom
	}
	return nil
}
