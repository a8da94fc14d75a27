package aggregator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/aggregator/strategy"
	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/yamlcfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// roundState is what the aggregator holds for the round it is collecting.
//
// It does not hold the round's global model while updates arrive (only
// its hash): closeRound downloads it again, so that collection needs memory
// for the sum and the staging buffers alone.
type roundState struct {
	task      *confedv1.AggregationTask
	globalSHA [32]byte
	spec      model.Spec
	pool      *fedavg.BufferPool
	// key is the round's HPKE key: participants seal their updates to its
	// public half, which the aggregator's attested binding carries. It
	// exists only in this process's memory and is destroyed with the round.
	key *seal.RoundKey
	// participants verifies participants' evidence against the round's
	// policy; nil when participants need not attest.
	participants tee.Verifier
	// frozen are the coordinates of the feature statistics.
	frozen []strategy.Range
	// robust is the round's robust rule (nil for fedavg); its updates are
	// kept, sealed, in spill, spilled[i] naming the participant of the i-th.
	robust  *strategy.RobustConfig
	spill   *strategy.Spill
	spilled []string
	// ring, in fixed-point training rounds, is the exact sum of the
	// quantised updates; ringPool bounds their staging buffers.
	ring     *fixedpoint.Sum32
	ringPool *fedavg.Pool[uint32]
	// ring64 and ringPool64 replace them in the 64-bit ring.
	ring64     *fixedpoint.Sum64
	ringPool64 *fedavg.Pool[uint64]
	// dp is the round's central differential privacy (nil: none; dp.go),
	// dpApplied what it did, for the manifest.
	dp        *dpRound
	dpApplied *confedv1.PrivacyApplied
	// secagg is the round's SecAgg+ session (secagg.go); nil unless the
	// round masks its updates.
	secagg *secAggRound

	mu     sync.Mutex
	acc    *fedavg.Accumulator
	folded map[string]*confedv1.Contribution
	closed bool // CLOSE or ABORT received: no new streams
	// combined is set when the round's updates are combined (which spends
	// the sum).
	combined bool
	changed  chan struct{}
	// failedFolds are included updates whose fold failed, with the reason:
	// the round cannot be closed with them.
	failedFolds map[string]error
}

func newRoundState(task *confedv1.AggregationTask, global *model.Model, sha [32]byte, layout sumLayout, buffers yamlcfg.AutoInt, spillDir string) (*roundState, error) {
	spec := global.Spec()
	frozen, err := statistics(spec)
	if err != nil {
		return nil, err
	}
	robust := robustConfig(task.GetParams(), frozen)
	var spill *strategy.Spill
	if robust != nil {
		if spill, err = strategy.NewSpill(spillDir, spec.NumParams()); err != nil {
			return nil, fmt.Errorf("spill file for %s: %w", robust.Name, err)
		}
	}
	// Float32 updates: the statistics round of a fixed-point federation
	// stages them too.
	pool, err := fedavg.NewBufferPool(spec, stagingBuffers(buffers, layoutFloat))
	if err != nil {
		if spill != nil {
			_ = spill.Close()
		}
		return nil, err
	}
	rs := &roundState{
		task: task, globalSHA: sha, spec: spec, pool: pool,
		frozen: frozen, robust: robust, spill: spill,
		folded: map[string]*confedv1.Contribution{}, changed: make(chan struct{}),
	}
	if rs.key, err = seal.NewRoundKey(nil); err != nil {
		err = fmt.Errorf("round key: %w", err)
	} else {
		err = rs.initSum(layout, buffers)
	}
	if err != nil {
		_ = rs.release()
		return nil, err
	}
	return rs, nil
}

// initSum sets up where the round's updates are summed, by its layout:
// the ring of a fixed-point training round, nothing in a masked round (the
// session sums the masked inputs, secagg.go), else a float64 sum outside
// the Go heap.
func (r *roundState) initSum(layout sumLayout, buffers yamlcfg.AutoInt) error {
	switch layout {
	case layoutMasked:
		return nil
	case layoutFloat:
		acc, err := fedavg.NewMappedAccumulator(r.spec)
		r.acc = acc
		return err
	}
	if err := r.initRing(ringParams(r.task.GetParams().GetFixedPoint()), buffers); err != nil {
		return fmt.Errorf("fixed point: %w", err)
	}
	return nil
}

// release frees what the round holds: no stream is accepted any more, the
// round key is destroyed, the secure-aggregation session dropped, the
// staging buffers released, the spill file removed and the sums' memory
// given back. It is called once, when the round is dropped (or fails to
// open), after the last use of its sums; it returns the spill file's
// removal error.
func (r *roundState) release() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	if r.key != nil {
		r.key.Destroy()
	}
	r.dropSecAgg()
	// Staging buffers still in use are unmapped when their streams end.
	r.pool.Release()
	if r.ringPool != nil {
		r.ringPool.Release()
	}
	if r.ringPool64 != nil {
		r.ringPool64.Release()
	}
	// The sums fail to free only for memory that offheap did not map.
	if r.acc != nil {
		_ = r.acc.Free()
	}
	if r.ring != nil {
		_ = r.ring.Free()
	}
	if r.ring64 != nil {
		_ = r.ring64.Free()
	}
	if r.spill != nil {
		return r.spill.Close()
	}
	return nil
}

// initRing sets up the ring sum and staging buffers of a fixed-point round,
// in the 32- or 64-bit ring as p says.
func (r *roundState) initRing(p fixedpoint.Params, buffers yamlcfg.AutoInt) error {
	n := r.spec.NumParams()
	var err error
	if p.Bits == 64 {
		if r.ring64, err = fixedpoint.NewMappedSum64(n, p); err != nil {
			return err
		}
		r.ringPool64, err = fedavg.NewPool[uint64](n, stagingBuffers(buffers, layoutRing64))
		return err
	}
	if r.ring, err = fixedpoint.NewMappedSum32(n, p); err != nil {
		return err
	}
	r.ringPool, err = fedavg.NewPool[uint32](n, stagingBuffers(buffers, layoutRing32))
	return err
}

// fold adds an update that the coordinator included.
func (r *roundState) fold(c *confedv1.Contribution, values []float32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.folded[c.GetParticipant()]; dup {
		return fmt.Errorf("update of %q already folded", c.GetParticipant())
	}
	if r.dp != nil {
		if err := r.dp.foldFloat(values, float64(c.GetNumExamples())); err != nil {
			return err
		}
	}
	if bound := r.task.GetParams().GetClipNorm(); bound > 0 {
		if _, _, err := strategy.ClipNormExcept(values, bound, r.frozen); err != nil {
			return err
		}
	}
	if err := r.acc.Add(values, float64(c.GetNumExamples())); err != nil {
		return err
	}
	if r.spill != nil {
		if err := r.spill.Append(values, float64(c.GetNumExamples())); err != nil {
			return err
		}
		r.spilled = append(r.spilled, c.GetParticipant())
	}
	r.markFolded(c)
	return nil
}

// foldFailed records that the fold of an included update failed, and
// wakes whoever waits for folds.
func (r *roundState) foldFailed(participant string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failedFolds == nil {
		r.failedFolds = map[string]error{}
	}
	r.failedFolds[participant] = err
	close(r.changed)
	r.changed = make(chan struct{})
}

// markFolded records c and wakes whoever waits for folds; r.mu is held.
func (r *roundState) markFolded(c *confedv1.Contribution) {
	r.folded[c.GetParticipant()] = c
	close(r.changed)
	r.changed = make(chan struct{})
}

// foldRing adds a fixed-point update that the coordinator included.
func (r *roundState) foldRing(c *confedv1.Contribution, q []uint32) error {
	return foldRingInto(r, c, q, r.ring.Add)
}

// foldRing64 is foldRing in the 64-bit ring.
func (r *roundState) foldRing64(c *confedv1.Contribution, q []uint64) error {
	return foldRingInto(r, c, q, r.ring64.Add)
}

func foldRingInto[T ringWord](r *roundState, c *confedv1.Contribution, q []T, add func([]T, uint64) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.folded[c.GetParticipant()]; dup {
		return fmt.Errorf("update of %q already folded", c.GetParticipant())
	}
	if r.dp != nil {
		if err := dpFoldRing(r.dp, q, c.GetNumExamples(), ringParams(r.task.GetParams().GetFixedPoint())); err != nil {
			return err
		}
	}
	if err := add(q, c.GetNumExamples()); err != nil {
		return err
	}
	r.markFolded(c)
	return nil
}

// statisticsRound reports a global model without pooled feature statistics:
// its round collects them (in float32, whatever the aggregation mode).
func statisticsRound(m *model.Model) bool {
	sq, ok := m.Lookup(model.TensorInputSqMean)
	if !ok {
		return false
	}
	for _, v := range sq.Data {
		if v != 0 {
			return false
		}
	}
	return true
}

// waitFolded waits until every participant in include has been folded,
// and fails at once if the fold of one of them failed.
func (r *roundState) waitFolded(ctx context.Context, include []string) error {
	for {
		r.mu.Lock()
		missing := ""
		for _, p := range include {
			if err := r.failedFolds[p]; err != nil {
				r.mu.Unlock()
				return fmt.Errorf("the coordinator included the update of %q, whose fold failed: %w", p, err)
			}
			if _, ok := r.folded[p]; !ok && missing == "" {
				missing = p
			}
		}
		ch := r.changed
		r.mu.Unlock()
		if missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the update of %q: %w", missing, ctx.Err())
		case <-ch:
		}
	}
}

// contributions returns the folded contributions of include, in order.
func (r *roundState) contributions(include []string) ([]*confedv1.Contribution, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.folded) != len(include) {
		return nil, fmt.Errorf("%d updates folded, the coordinator included %d", len(r.folded), len(include))
	}
	out := make([]*confedv1.Contribution, 0, len(include))
	for _, p := range include {
		c, ok := r.folded[p]
		if !ok {
			return nil, fmt.Errorf("the coordinator included %q, whose update was not folded", p)
		}
		out = append(out, c)
	}
	return out, nil
}

// stagingDrainWait bounds how long closing a round waits for the staging
// buffers still in use (the included updates' handlers replying to their
// participants, late streams being refused) before it goes on.
const stagingDrainWait = 5 * time.Second

// releaseStaging frees the staging buffers once the round stops collecting
// and waits, at most stagingDrainWait, until none is in use: updates still
// streaming are refused, and a buffer still in use is dropped when its
// stream ends.
func (r *roundState) releaseStaging(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, stagingDrainWait)
	defer cancel()
	r.pool.Release()
	if r.ringPool != nil {
		r.ringPool.Release()
		_ = r.ringPool.Drained(ctx) // a late stream only delays when its memory is freed
	}
	if r.ringPool64 != nil {
		r.ringPool64.Release()
		_ = r.ringPool64.Drained(ctx)
	}
	_ = r.pool.Drained(ctx)
}
