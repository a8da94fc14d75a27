package metrics

import (
	"errors"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Counter is a count that only goes up (events, bytes).
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// Gauge is a value that goes up and down.
type Gauge struct{ bits atomic.Uint64 }

// Set sets the gauge to v.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds d (which may be negative).
func (g *Gauge) Add(d float64) {
	for {
		old := g.bits.Load()
		if g.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// Inc adds one.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.Add(-1) }

// Value returns the gauge's value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

// Histogram counts observations in buckets. Its lock keeps the buckets,
// the sum and the count of one exposition consistent with each other.
type Histogram struct {
	upper []float64 // bucket upper bounds, without +Inf

	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

func newHistogram(upper []float64) *Histogram {
	return &Histogram{upper: upper, counts: make([]uint64, len(upper)+1)}
}

// Observe records v. NaN is ignored: it belongs to no bucket and would
// poison the sum.
func (h *Histogram) Observe(v float64) {
	if math.IsNaN(v) {
		return
	}
	i := sort.SearchFloat64s(h.upper, v) // first bound >= v
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.count++
	h.mu.Unlock()
}

// ObserveDuration records d in seconds.
func (h *Histogram) ObserveDuration(d time.Duration) { h.Observe(d.Seconds()) }

// HistogramSnapshot is a histogram's state at one moment.
type HistogramSnapshot struct {
	// Upper are the bucket bounds, without +Inf; Cumulative[i] counts the
	// observations <= Upper[i], and Cumulative[len(Upper)] all of them.
	Upper      []float64
	Cumulative []uint64
	Sum        float64
	Count      uint64
}

// Snapshot returns the histogram's current state.
func (h *Histogram) Snapshot() HistogramSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := HistogramSnapshot{Upper: h.upper, Cumulative: make([]uint64, len(h.counts)), Sum: h.sum, Count: h.count}
	var acc uint64
	for i, c := range h.counts {
		acc += c
		s.Cumulative[i] = acc
	}
	return s
}

// checkBuckets requires finite, strictly increasing bounds.
func checkBuckets(b []float64) error {
	if len(b) == 0 {
		return errors.New("a histogram needs at least one bucket bound")
	}
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("bucket bounds must be finite (+Inf is implicit)")
		}
		if i > 0 && v <= b[i-1] {
			return errors.New("bucket bounds must be strictly increasing")
		}
	}
	return nil
}

// Bucket layouts for durations, in seconds.
var (
	// SecondsShort suits operations of milliseconds to a couple of
	// minutes: one submission, one training run.
	SecondsShort = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	// SecondsLong suits rounds: a tenth of a second to an hour.
	SecondsLong = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
)
