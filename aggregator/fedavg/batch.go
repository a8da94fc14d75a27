package fedavg

import (
	"fmt"
	"math"

	"github.com/confed/confed/aggregator/kernels"
)

// foldBlock is how many coordinates of the sum a batched fold keeps in
// cache while it adds every update of the batch to them: 4096 float64
// (32 KiB, the L1 data cache) plus 16 KiB of each update.
const foldBlock = 1 << 12

// AddMany adds weights[i] × values[i] for every i, as Add would one after
// another, but in one pass over the sum: each block of the sum is read and
// written once for the whole batch while it stays in cache, instead of
// once per update, so that the sum's memory traffic (16 bytes a parameter)
// is paid once per batch. The result is bit for bit that of the Adds in
// order. Every update is checked first; if any is refused (the first
// refusal is returned), nothing is added.
func (a *Accumulator) AddMany(values [][]float32, weights []float64) error {
	if len(values) != len(weights) {
		return fmt.Errorf("fedavg: add: %d updates and %d weights", len(values), len(weights))
	}
	for i := range values {
		if err := a.check(values[i], weights[i]); err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.foldChecked(values, weights)
	return nil
}

// check refuses a bad weight, a wrong length or a non-finite value; it
// reads values and the immutable spec, not the sum, so it needs no lock
// (a spent accumulator is refused under the lock, when folding).
func (a *Accumulator) check(values []float32, weight float64) error {
	if !(weight > 0) || math.IsInf(weight, 0) {
		return refuse(ReasonBadWeight, fmt.Sprintf("weight %v, want a positive finite number", weight))
	}
	if a.spec == nil { // invalid spec: a.err is set once, at construction
		return a.err
	}
	if n := a.spec.NumParams(); len(values) != n {
		return fmt.Errorf("fedavg: add: %d values, spec needs %d", len(values), n)
	}
	if _, bad := kernels.CheckF32(values); bad >= 0 {
		return nonFinite(a.spec, bad, float64(values[bad]))
	}
	return nil
}

// foldChecked adds checked updates block by block, split across cores;
// a.mu is held.
func (a *Accumulator) foldChecked(values [][]float32, weights []float64) {
	kernels.Parallel(len(a.sum), parallelBlock, func(lo, hi int) {
		for b := lo; b < hi; b += foldBlock {
			e := min(b+foldBlock, hi)
			for i, v := range values {
				kernels.AddScaledF32ToF64(a.sum[b:e], v[b:e], weights[i])
			}
		}
	})
	for _, w := range weights {
		a.count++
		a.total += w
	}
}

// pendingAdd is an Add waiting to be folded by whichever Add holds the
// lock next (see Add).
type pendingAdd struct {
	values []float32
	weight float64
	done   chan error
}

// foldPending folds every queued Add in one batch and tells each its
// result; a.mu is held.
func (a *Accumulator) foldPending() {
	a.qmu.Lock()
	batch := a.queue
	a.queue = nil
	a.qmu.Unlock()
	if len(batch) == 0 {
		return
	}
	if a.err != nil {
		for _, p := range batch {
			p.done <- a.err
		}
		return
	}
	values := make([][]float32, len(batch))
	weights := make([]float64, len(batch))
	for i, p := range batch {
		values[i], weights[i] = p.values, p.weight
	}
	a.foldChecked(values, weights)
	for _, p := range batch {
		p.done <- nil
	}
}
