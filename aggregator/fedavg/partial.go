package fedavg

import (
	"errors"
	"fmt"
	"math"
)

// Partial sums (hierarchical aggregation, aggregator/tree*.go): a leaf
// aggregator hands its whole sum to the root with TakeSum; the root adds
// each leaf's sum into its own accumulator piece by piece as it streams in
// (AddSumAt), then accounts for the leaf's updates with AddPartialCount.
// Float64 addition is commutative, so with two partials the root's sum is
// the same whatever order their pieces arrive in.

// TakeSum returns the accumulated sum Σ wᵢ·vᵢ itself (not a copy), the
// number of updates and their total weight. The accumulator is spent: later
// calls fail. It fails if nothing was added. A mapped accumulator's sum is
// valid until Free.
func (a *Accumulator) TakeSum() ([]float64, int, float64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usable(); err != nil {
		return nil, 0, 0, err
	}
	sum, count, total := a.sum, a.count, a.total
	a.sum = nil
	a.err = errors.New("fedavg: the accumulator's sum was taken")
	return sum, count, total, nil
}

// AddSumAt adds values, a piece of another accumulator's sum starting at
// coordinate lo, to the sum. Every value must be finite. The updates it
// holds are counted separately, with AddPartialCount.
func (a *Accumulator) AddSumAt(lo int, values []float64) error {
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nonFinite(a.spec, lo+i, v)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	if lo < 0 || lo+len(values) > len(a.sum) {
		return fmt.Errorf("fedavg: add sum: coordinates [%d, %d) of a sum of %d", lo, lo+len(values), len(a.sum))
	}
	dst := a.sum[lo : lo+len(values)]
	for i, v := range values {
		dst[i] += v
	}
	return nil
}

// AddPartialCount counts count updates of total weight, whose sum was
// added with AddSumAt.
func (a *Accumulator) AddPartialCount(count int, total float64) error {
	if count < 1 || !(total > 0) || math.IsInf(total, 0) {
		return refuse(ReasonBadWeight, fmt.Sprintf("partial of %d update(s) of total weight %v, want at least one of positive finite weight", count, total))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.count += count
	a.total += total
	return nil
}
