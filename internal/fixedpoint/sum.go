package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"

	"github.com/confed/confed/internal/offheap"
)

// Sum32 is the wrapping sum of quantised updates in the 32-bit ring: one
// vector of n uint32, however many updates are added. It is safe for
// concurrent use, and its contents do not depend on the order of the Adds.
type Sum32 struct{ s sum[uint32] }

// Sum64 is Sum32 in the 64-bit ring.
type Sum64 struct{ s sum[uint64] }

// NewSum32 returns an empty sum of n-element updates quantised with p, which
// must be valid with Bits 32. It adds with DefaultKernel32.
func NewSum32(n int, p Params) (*Sum32, error) {
	s := &Sum32{}
	return s, s.s.init(n, p, 32, DefaultKernel32)
}

// NewSum64 returns an empty sum of n-element updates quantised with p, which
// must be valid with Bits 64. It adds with DefaultKernel64.
func NewSum64(n int, p Params) (*Sum64, error) {
	s := &Sum64{}
	return s, s.s.init(n, p, 64, DefaultKernel64)
}

// Add adds the quantised update q (n elements) of the given weight. It
// refuses, adding nothing: a wrong length (ErrLength); a weight of 0 or above
// MaxWeight (ErrBadWeight); an element outside ±p.MaxAbs(weight), which no
// honest Quantise produces and which could wrap the sum (an *ElementError
// naming the first, errors.Is ErrOutOfRange); and any update beyond
// MaxParticipants (ErrFull). q is checked before the lock is taken, so it
// must not change while Add runs.
func (s *Sum32) Add(q []uint32, weight uint64) error { return s.s.add(q, weight) }

// Count returns the number of updates added.
func (s *Sum32) Count() int { return s.s.counts() }

// TotalWeight returns the sum of the weights added.
func (s *Sum32) TotalWeight() uint64 { return s.s.totalWeight() }

// Len returns n, the number of elements of each update.
func (s *Sum32) Len() int { return len(s.s.acc) }

// Raw returns a copy of the ring sum, e.g. to compare sums bit for bit.
func (s *Sum32) Raw() []uint32 { return s.s.raw() }

// Mean writes the weighted mean signed(sum[i]) / Scale / TotalWeight into dst
// (n elements) as float32. It fails if nothing was added, if the total weight
// is not exact in float64, or if a value does not fit a float32.
func (s *Sum32) Mean(dst []float32) error { return mean(&s.s, dst) }

// MeanFloat64 is Mean in float64.
func (s *Sum32) MeanFloat64(dst []float64) error { return mean(&s.s, dst) }

// MeanFloat64At is MeanFloat64 of the elements [lo, lo+len(dst)) only, so
// that the mean can be taken block by block without a whole float64 copy.
func (s *Sum32) MeanFloat64At(lo int, dst []float64) error { return meanAt(&s.s, lo, dst) }

// Add: see Sum32.Add.
func (s *Sum64) Add(q []uint64, weight uint64) error { return s.s.add(q, weight) }

// Count returns the number of updates added.
func (s *Sum64) Count() int { return s.s.counts() }

// TotalWeight returns the sum of the weights added.
func (s *Sum64) TotalWeight() uint64 { return s.s.totalWeight() }

// Len returns n, the number of elements of each update.
func (s *Sum64) Len() int { return len(s.s.acc) }

// Raw returns a copy of the ring sum.
func (s *Sum64) Raw() []uint64 { return s.s.raw() }

// Mean: see Sum32.Mean.
func (s *Sum64) Mean(dst []float32) error { return mean(&s.s, dst) }

// MeanFloat64 is Mean in float64.
func (s *Sum64) MeanFloat64(dst []float64) error { return mean(&s.s, dst) }

// MeanFloat64At: see Sum32.MeanFloat64At.
func (s *Sum64) MeanFloat64At(lo int, dst []float64) error { return meanAt(&s.s, lo, dst) }

type sum[T Word] struct {
	p      Params
	kernel Kernel[T]

	mu    sync.Mutex
	acc   []T
	count int
	total uint64
	// mem is acc's memory when it lives outside the Go heap
	// (NewMappedSum32), kept after TakeRaw hands acc out, until Free;
	// freed is set by Free: acc must not be touched then.
	mem   []T
	freed bool
}

// errFreed is returned by every use of a sum after Free.
var errFreed = errors.New("fixedpoint: the sum was freed")

// NewMappedSum32 is NewSum32 with the ring sum outside the Go heap
// (internal/offheap): the garbage collector neither scans it nor counts it
// towards its target. The caller must call Free exactly once, after its
// last use of the sum and of anything TakeRaw returned.
func NewMappedSum32(n int, p Params) (*Sum32, error) {
	s := &Sum32{}
	return s, s.s.initMapped(n, p, 32, DefaultKernel32)
}

// NewMappedSum64 is NewMappedSum32 in the 64-bit ring.
func NewMappedSum64(n int, p Params) (*Sum64, error) {
	s := &Sum64{}
	return s, s.s.initMapped(n, p, 64, DefaultKernel64)
}

// Free ends the sum: later calls fail, and a mapped sum's memory is given
// back (internal/offheap). It may be called more than once.
func (s *Sum32) Free() error { return s.s.free() }

// Free: see Sum32.Free.
func (s *Sum64) Free() error { return s.s.free() }

func (s *sum[T]) initMapped(n int, p Params, bits int, k Kernel[T]) error {
	if err := s.init(0, p, bits, k); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("fixedpoint: NewSum%d: n = %d, want at least 0", bits, n)
	}
	acc, err := offheap.Make[T](n)
	if err != nil {
		return fmt.Errorf("fixedpoint: NewSum%d: %w", bits, err)
	}
	s.acc, s.mem = acc, acc
	return nil
}

func (s *sum[T]) free() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freed {
		return nil
	}
	s.freed = true
	mem := s.mem
	s.mem = nil
	return offheap.Free(mem) // nil for a sum of the Go heap
}

func (s *sum[T]) init(n int, p Params, bits int, k Kernel[T]) error {
	if p.Bits != bits {
		return fmt.Errorf("fixedpoint: NewSum%d with Params.Bits = %d, want %d", bits, p.Bits, bits)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("fixedpoint: NewSum%d: n = %d, want at least 0", bits, n)
	}
	if k == nil {
		return fmt.Errorf("fixedpoint: NewSum%d: DefaultKernel%d is nil", bits, bits)
	}
	s.p, s.kernel, s.acc = p, k, make([]T, n)
	return nil
}

func (s *sum[T]) add(q []T, weight uint64) error {
	if s.kernel == nil {
		return errors.New("fixedpoint: add: zero Sum: create it with NewSum32 or NewSum64")
	}
	if len(q) != len(s.acc) {
		return fmt.Errorf("fixedpoint: add: %w: update has %d elements, sum has %d", ErrLength, len(q), len(s.acc))
	}
	if weight < 1 || weight > s.p.MaxWeight {
		return fmt.Errorf("fixedpoint: add: %w: weight %d, want 1 to MaxWeight = %d", ErrBadWeight, weight, s.p.MaxWeight)
	}
	bound, _ := s.p.MaxAbs(weight) // < 2^(Bits−1): Validate and weight ≤ MaxWeight
	// Checked before taking the lock (q is read-only), so concurrent Adds
	// check in parallel; only the add runs under the lock.
	if i := s.kernel.OutOfRange(q, T(bound)); i >= 0 {
		return &ElementError{Op: "add", Index: i,
			Detail: fmt.Sprintf("is outside ±%d, the range of an update of weight %d", bound, weight), Err: ErrOutOfRange}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freed {
		return errFreed
	}
	if s.count >= s.p.MaxParticipants {
		return fmt.Errorf("fixedpoint: add: %w (%d)", ErrFull, s.p.MaxParticipants)
	}
	// Validate bounds the total by MaxTotalWeight; checked anyway.
	total, carry := bits.Add64(s.total, weight, 0)
	if carry != 0 || total > MaxTotalWeight {
		return fmt.Errorf("fixedpoint: add: %w: total weight would exceed 2^53", ErrBadWeight)
	}
	s.kernel.Add(s.acc, q)
	s.count++
	s.total = total
	return nil
}

func (s *sum[T]) counts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

func (s *sum[T]) totalWeight() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func (s *sum[T]) raw() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freed {
		return nil
	}
	return slices.Clone(s.acc)
}

// mean writes signed(acc[i]) / (Scale · total) into dst.
func mean[T Word, F float32 | float64](s *sum[T], dst []F) error {
	if len(dst) != len(s.acc) {
		return fmt.Errorf("fixedpoint: mean: %w: dst has %d elements, sum has %d", ErrLength, len(dst), len(s.acc))
	}
	return meanAt(s, 0, dst)
}

// meanAt is mean of the elements [lo, lo+len(dst)).
func meanAt[T Word, F float32 | float64](s *sum[T], lo int, dst []F) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.freed:
		return errFreed
	case lo < 0 || lo+len(dst) > len(s.acc):
		return fmt.Errorf("fixedpoint: mean: %w: elements [%d, %d) of a sum of %d", ErrLength, lo, lo+len(dst), len(s.acc))
	case s.count == 0:
		return fmt.Errorf("fixedpoint: mean: %w", ErrEmpty)
	case s.total > MaxTotalWeight: // unreachable through Add
		return fmt.Errorf("fixedpoint: mean: total weight %d overflowed 2^53", s.total)
	}
	d := s.p.Scale * float64(s.total)
	shift := 64 - s.p.Bits
	for i, v := range s.acc[lo : lo+len(dst)] {
		signed := int64(uint64(v)<<shift) >> shift // two's complement of the low Bits bits
		out := F(float64(signed) / d)
		if math.IsInf(float64(out), 0) {
			return &ElementError{Op: "mean", Index: lo + i, Detail: "does not fit the output type", Err: ErrOutOfRange}
		}
		dst[i] = out
	}
	return nil
}
