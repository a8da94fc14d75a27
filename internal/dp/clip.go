package dp

import (
	"fmt"
	"math"
	"slices"
)

// Span is the half-open index range [Lo, Hi) of a vector.
type Span struct{ Lo, Hi int }

// Ranges calls fn, in increasing order, on the maximal ranges [lo, hi) of
// a vector of n elements that lie outside every span of skip (spans may
// overlap and come in any order). It allocates nothing the size of the
// vector. A span outside [0, n) is an error, and then fn is not called.
func Ranges(n int, skip []Span, fn func(lo, hi int)) error {
	for _, s := range skip {
		if s.Lo < 0 || s.Hi < s.Lo || s.Hi > n {
			return fmt.Errorf("dp: span [%d, %d) is not within a vector of %d elements", s.Lo, s.Hi, n)
		}
	}
	if !slices.IsSortedFunc(skip, bySpanStart) {
		skip = slices.SortedFunc(slices.Values(skip), bySpanStart)
	}
	lo := 0
	for _, s := range skip {
		if s.Lo == s.Hi {
			continue
		}
		if s.Lo > lo {
			fn(lo, s.Lo)
		}
		lo = max(lo, s.Hi)
	}
	if lo < n {
		fn(lo, n)
	}
	return nil
}

func bySpanStart(a, b Span) int { return a.Lo - b.Lo }

// Norm is the L2 norm of v outside skip, in float64.
func Norm[F float32 | float64](v []F, skip []Span) (float64, error) {
	sum := 0.0
	err := Ranges(len(v), skip, func(lo, hi int) {
		for _, x := range v[lo:hi] {
			sum += float64(x) * float64(x)
		}
	})
	return math.Sqrt(sum), err
}

// scale multiplies v by f outside skip (whose spans Norm has checked).
func scale[F float32 | float64](v []F, f float64, skip []Span) {
	_ = Ranges(len(v), skip, func(lo, hi int) {
		for i, x := range v[lo:hi] {
			v[lo+i] = F(float64(x) * f)
		}
	})
}

// Clip scales v in place so that its L2 norm outside skip is at most c
// (the coordinates in skip are neither counted nor changed). It returns the
// norm before clipping and whether v was scaled. After Clip the norm,
// recomputed in float64, is at most c: the factor is shrunk until rounding
// to F cannot push it over. c must be positive and finite, and v finite.
func Clip[F float32 | float64](v []F, c float64, skip []Span) (norm float64, scaled bool, err error) {
	if !(c > 0) || math.IsInf(c, 0) {
		return 0, false, fmt.Errorf("dp: clip norm %v, want a positive finite number", c)
	}
	norm, err = Norm(v, skip)
	if err != nil {
		return 0, false, err
	}
	if math.IsInf(norm, 0) || math.IsNaN(norm) {
		return norm, false, fmt.Errorf("dp: update norm is %v", norm)
	}
	if norm <= c {
		return norm, false, nil
	}
	// Scale in place, then, in the rare case rounding to F left the norm
	// just above c, scale what is there again by a factor shrunk a little
	// more each time: no copy of v is needed.
	after := norm
	for margin := 1.0 / (1 << 22); after > c; margin *= 2 {
		scale(v, c/after*(1-margin), skip)
		after, _ = Norm(v, skip)
	}
	return norm, true, nil
}
