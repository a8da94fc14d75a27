package fedavg

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/offheap"
)

// Accumulator holds the weighted sum of accepted updates in float64: one
// model-sized vector, however many updates are added. It is safe for
// concurrent use.
type Accumulator struct {
	spec model.Spec
	err  error // invalid spec

	mu    sync.Mutex
	sum   []float64
	count int
	total float64
	// mapped is the sum's memory when it lives outside the Go heap
	// (NewMappedAccumulator), kept after TakeMean or TakeSum hand the sum
	// out, until Free unmaps it.
	mapped []float64

	// queue holds Adds waiting for the lock: the goroutine that gets it
	// folds them all in one batch (batch.go).
	qmu   sync.Mutex
	queue []*pendingAdd
}

// NewAccumulator returns an empty accumulator for updates of spec. An invalid
// spec is reported by every later call.
func NewAccumulator(spec model.Spec) *Accumulator {
	if err := spec.Validate(); err != nil {
		return &Accumulator{err: fmt.Errorf("fedavg: accumulator: %w", err)}
	}
	return &Accumulator{spec: spec, sum: make([]float64, spec.NumParams())}
}

// NewMappedAccumulator is NewAccumulator with the sum outside the Go heap
// (internal/offheap): the garbage collector neither scans it nor counts it
// towards its target, and Free returns its memory to the system at once.
// The caller must call Free exactly once, after its last use of the
// accumulator and of any sum or mean taken from it.
func NewMappedAccumulator(spec model.Spec) (*Accumulator, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("fedavg: accumulator: %w", err)
	}
	sum, err := offheap.Make[float64](spec.NumParams())
	if err != nil {
		return nil, fmt.Errorf("fedavg: accumulator: %w", err)
	}
	return &Accumulator{spec: spec, sum: sum, mapped: sum}, nil
}

// Free ends the accumulator: later calls fail, and the memory of a mapped
// sum is unmapped, so that the slices TakeMean and TakeSum returned must no
// longer be used. Free may be called more than once, and on an
// accumulator of the heap (which it only spends).
func (a *Accumulator) Free() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sum, a.err = nil, errors.New("fedavg: the accumulator was freed")
	m := a.mapped
	a.mapped = nil
	return offheap.Free(m)
}

// parallelBlock is the smallest share of a vector worth a goroutine: below
// it, splitting costs more than it saves.
const parallelBlock = 1 << 18

// Add adds weight × values to the sum (one fused multiply-add per value,
// vectorised and split across cores for large models). weight (typically
// the participant's example count) must be positive and finite, else a
// bad_weight *RefusalError; values must hold one finite value per
// parameter. Nothing is added if Add fails.
//
// Adds that wait for each other are folded together: the first to get the
// lock folds every Add queued by then in one pass over the sum (AddMany),
// which saves the sum's memory traffic when several updates are staged at
// once. The sum is the same, bit for bit, as folding them one by one in
// queue order.
func (a *Accumulator) Add(values []float32, weight float64) error {
	if err := a.check(values, weight); err != nil {
		return err
	}
	p := &pendingAdd{values: values, weight: weight, done: make(chan error, 1)}
	a.qmu.Lock()
	a.queue = append(a.queue, p)
	a.qmu.Unlock()
	a.mu.Lock()
	a.foldPending() // ours, unless an earlier holder of the lock folded it
	a.mu.Unlock()
	return <-p.done
}

// Count returns the number of updates added.
func (a *Accumulator) Count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.count
}

// TotalWeight returns the sum of the weights added.
func (a *Accumulator) TotalWeight() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// Mean returns the weighted mean Σ wᵢ·vᵢ / Σ wᵢ, a new vector in flat spec
// order. It fails if nothing was added.
func (a *Accumulator) Mean() ([]float64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usable(); err != nil {
		return nil, err
	}
	return a.meanInto(make([]float64, len(a.sum))), nil
}

// TakeMean is Mean computed in place in the sum, without allocating a
// second model-sized vector. The accumulator is spent: later calls to Add,
// Mean or TakeMean fail. A mapped accumulator's mean is valid until Free.
func (a *Accumulator) TakeMean() ([]float64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usable(); err != nil {
		return nil, err
	}
	out := a.meanInto(a.sum)
	a.sum = nil
	a.err = errors.New("fedavg: the accumulator's mean was taken")
	return out, nil
}

// usable reports why the mean cannot be taken; a.mu is held.
func (a *Accumulator) usable() error {
	if a.err != nil {
		return a.err
	}
	if a.count == 0 {
		return errors.New("fedavg: mean: no updates added")
	}
	return nil
}

// meanInto writes sum / total into dst (which may be a.sum); a.mu is held.
func (a *Accumulator) meanInto(dst []float64) []float64 {
	for i, s := range a.sum {
		dst[i] = s / a.total
	}
	return dst
}

// Apply performs the FedAvg step: it returns global + the weighted mean of
// the accumulated deltas, as a new float32 model (global is not modified).
// It fails if global does not have the accumulator's spec, if nothing was
// added, or if a parameter would not be finite in float32.
func Apply(global *model.Model, a *Accumulator) (*model.Model, error) {
	if a.err != nil {
		return nil, a.err
	}
	if err := global.Validate(); err != nil {
		return nil, fmt.Errorf("fedavg: apply: global: %w", err)
	}
	if err := global.Spec().Equal(a.spec); err != nil {
		return nil, fmt.Errorf("fedavg: apply: global vs accumulator: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.count == 0 {
		return nil, errors.New("fedavg: apply: no updates added")
	}
	out := global.Clone()
	i := 0
	for _, t := range out.Tensors {
		for j := range t.Data {
			v := float32(float64(t.Data[j]) + a.sum[i]/a.total)
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("fedavg: apply: tensor %q element %d is not finite after the update", t.Name, j)
			}
			t.Data[j] = v
			i++
		}
	}
	return out, nil
}
