package dp

import (
	"fmt"
	"math"
	"slices"
)

// Span is the half-open index range [Lo, Hi) of a vector.
type Span struct{ Lo, Hi int }

// each calls fn for every index of a vector of n elements outside skip.
func each(n int, skip []Span, fn func(i int)) error {
	in, err := mask(n, skip)
	if err != nil {
		return err
	}
	for i := range n {
		if !in[i] {
			fn(i)
		}
	}
	return nil
}

func mask(n int, skip []Span) ([]bool, error) {
	m := make([]bool, n)
	for _, s := range skip {
		if s.Lo < 0 || s.Hi < s.Lo || s.Hi > n {
			return nil, fmt.Errorf("dp: span [%d, %d) is not within a vector of %d elements", s.Lo, s.Hi, n)
		}
		for i := s.Lo; i < s.Hi; i++ {
			m[i] = true
		}
	}
	return m, nil
}

// Norm is the L2 norm of v outside skip, in float64.
func Norm[F float32 | float64](v []F, skip []Span) (float64, error) {
	sum := 0.0
	err := each(len(v), skip, func(i int) { sum += float64(v[i]) * float64(v[i]) })
	return math.Sqrt(sum), err
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
	orig := slices.Clone(v)
	for margin := 1.0 / (1 << 22); ; margin *= 2 {
		f := c / norm * (1 - margin)
		_ = each(len(v), skip, func(i int) { v[i] = F(float64(orig[i]) * f) })
		after, _ := Norm(v, skip)
		if after <= c {
			return norm, true, nil
		}
	}
}
