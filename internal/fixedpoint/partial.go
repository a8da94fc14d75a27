package fixedpoint

import (
	"fmt"
	"math/bits"
)

// Partial sums (hierarchical aggregation): a leaf aggregator hands its ring
// sum to the root with TakeRaw; the root adds each leaf's sum piece by piece
// with AddRawAt, then counts its updates with AddPartialCount. Ring addition
// is exact and commutative, so the root's sum is bit for bit the sum one
// aggregator would have of all the updates.

// TakeRaw returns the ring sum itself (not a copy), the number of updates
// and their total weight. The Sum is spent: it holds no elements after. A
// mapped sum's elements stay valid until Free.
func (s *Sum32) TakeRaw() ([]uint32, int, uint64) { return s.s.takeRaw() }

// AddRawAt adds q, a piece of another Sum32's ring sum starting at element
// lo, whose every element must be within ±bound (PartialBound of the
// partial's weights).
func (s *Sum32) AddRawAt(lo int, q []uint32, bound uint64) error { return s.s.addRawAt(lo, q, bound) }

// AddPartialCount counts count updates of total weight whose sum was added
// with AddRawAt; it refuses going beyond MaxParticipants updates or a total
// weight of 2^53.
func (s *Sum32) AddPartialCount(count int, total uint64) error {
	return s.s.addPartialCount(count, total)
}

// TakeRaw: see Sum32.TakeRaw.
func (s *Sum64) TakeRaw() ([]uint64, int, uint64) { return s.s.takeRaw() }

// AddRawAt: see Sum32.AddRawAt.
func (s *Sum64) AddRawAt(lo int, q []uint64, bound uint64) error { return s.s.addRawAt(lo, q, bound) }

// AddPartialCount: see Sum32.AddPartialCount.
func (s *Sum64) AddPartialCount(count int, total uint64) error {
	return s.s.addPartialCount(count, total)
}

// PartialBound is the largest |signed value| a sum of updates of these
// weights can hold: the sum of MaxAbs of each. It fails when that reaches
// 2^(Bits−1), where the sum could have wrapped.
func (p Params) PartialBound(weights []uint64) (uint64, error) {
	var total uint64
	for _, w := range weights {
		if w < 1 || w > p.MaxWeight {
			return 0, fmt.Errorf("fixedpoint: partial: %w: weight %d, want 1 to MaxWeight = %d", ErrBadWeight, w, p.MaxWeight)
		}
		m, _ := p.MaxAbs(w)
		var carry uint64
		if total, carry = bits.Add64(total, m, 0); carry != 0 || total >= 1<<(p.Bits-1) {
			return 0, fmt.Errorf("fixedpoint: partial: %w: %d updates could wrap the ring", ErrOutOfRange, len(weights))
		}
	}
	return total, nil
}

func (s *sum[T]) takeRaw() ([]T, int, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freed {
		return nil, 0, 0
	}
	acc := s.acc
	s.acc = nil
	return acc, s.count, s.total
}

func (s *sum[T]) addRawAt(lo int, q []T, bound uint64) error {
	if s.kernel == nil {
		return fmt.Errorf("fixedpoint: add partial: zero Sum")
	}
	if bound >= 1<<(s.p.Bits-1) {
		return fmt.Errorf("fixedpoint: add partial: %w: bound %d", ErrOutOfRange, bound)
	}
	if i := s.kernel.OutOfRange(q, T(bound)); i >= 0 {
		return &ElementError{Op: "add partial", Index: lo + i, Detail: fmt.Sprintf("is outside ±%d, the range of the partial's updates", bound), Err: ErrOutOfRange}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freed {
		return errFreed
	}
	if lo < 0 || lo+len(q) > len(s.acc) {
		return fmt.Errorf("fixedpoint: add partial: %w: elements [%d, %d) of a sum of %d", ErrLength, lo, lo+len(q), len(s.acc))
	}
	s.kernel.Add(s.acc[lo:lo+len(q)], q)
	return nil
}

func (s *sum[T]) addPartialCount(count int, total uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if count < 1 || s.count+count > s.p.MaxParticipants {
		return fmt.Errorf("fixedpoint: add partial: %w: %d + %d updates, at most %d", ErrFull, s.count, count, s.p.MaxParticipants)
	}
	sum, carry := bits.Add64(s.total, total, 0)
	if carry != 0 || sum > MaxTotalWeight {
		return fmt.Errorf("fixedpoint: add partial: %w: total weight would exceed 2^53", ErrBadWeight)
	}
	s.count += count
	s.total = sum
	return nil
}
