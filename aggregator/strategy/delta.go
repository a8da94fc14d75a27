package strategy

import "fmt"

// DeltaSource yields an aggregated delta block by block, so that the whole
// delta need never exist at once in float64 (the fixed-point sum
// dequantises each block as it is asked for).
type DeltaSource interface {
	// Len is the number of coordinates.
	Len() int
	// Delta writes the delta of coordinates [lo, lo+len(dst)) into dst.
	// It may be called more than once for the same block and must give the
	// same values each time.
	Delta(lo int, dst []float64) error
}

// SliceDelta is a delta held whole.
type SliceDelta []float64

// Len implements DeltaSource.
func (s SliceDelta) Len() int { return len(s) }

// Delta implements DeltaSource.
func (s SliceDelta) Delta(lo int, dst []float64) error {
	if lo < 0 || lo+len(dst) > len(s) {
		return fmt.Errorf("block [%d, %d) outside a delta of %d values", lo, lo+len(dst), len(s))
	}
	copy(dst, s[lo:])
	return nil
}

// blockOf returns the delta of [lo, hi): a slice of the source itself when
// it holds the delta whole (SliceDelta, read in place), else buf filled by
// Delta.
func blockOf(src DeltaSource, lo, hi int, buf []float64) ([]float64, error) {
	if s, ok := src.(SliceDelta); ok {
		if lo < 0 || hi > len(s) || lo > hi {
			return nil, fmt.Errorf("block [%d, %d) outside a delta of %d values", lo, hi, len(s))
		}
		return s[lo:hi], nil
	}
	d := buf[:hi-lo]
	return d, src.Delta(lo, d)
}
