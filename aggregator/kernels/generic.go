package kernels

import "math"

// The pure-Go kernels. They are the fallback on every platform and the
// reference the assembly must match bit for bit.

const (
	expMask32 = 0x7f800000 // exponent bits of a float32: all ones for NaN and ±Inf
	checkLane = 32         // elements per block of CheckF32 (and its partial sums)
)

func addScaledF32ToF64Generic(acc []float64, x []float32, w float64) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] = math.FMA(w, float64(x[i]), acc[i])
	}
}

func addScaledF32Generic(acc, x []float32, w float32) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] = fma32(w, x[i], acc[i])
	}
}

// fma32 returns w·x + a rounded once to float32 (as VFMADD…PS does).
//
// The product of two float32 is exact in float64, so w·x + a is rounded only
// by the float64 addition. Rounding that to float32 could round twice (a
// float64 sum exactly halfway between two float32 values, while the exact sum
// was not), so the sum is first made round-to-odd: if the addition was
// inexact (its error e, from TwoSum, is not zero) and s is even, s moves one
// float64 step towards the exact value. A float64 rounded to odd has enough
// extra bits (53 ≥ 24+2) that rounding it to float32 is correct.
func fma32(w, x, a float32) float32 {
	p := float64(w) * float64(x) // exact
	b := float64(a)
	s := p + b
	bb := s - p
	e := (p - (s - bb)) + (b - bb) // s + e == p + b exactly (TwoSum)
	if e != 0 && math.Abs(s) <= math.MaxFloat64 {
		if bits := math.Float64bits(s); bits&1 == 0 {
			if (e > 0) == (s > 0) {
				bits++ // away from zero
			} else {
				bits-- // towards zero
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

func addU32Generic(acc, x []uint32) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] += x[i]
	}
}

func addU64Generic(acc, x []uint64) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] += x[i]
	}
}

func isNonFinite(v float32) bool {
	return math.Float32bits(v)&expMask32 == expMask32
}

// checkF32Blocks is the block loop of CheckF32 in pure Go, the same
// computation as the assembly: it checks and sums whole 32-element blocks,
// element i into partial sum i mod 32, until the tail or the first block
// holding a non-finite value. It returns the reduced sum and where it
// stopped.
func checkF32Blocks(x []float32) (sum float64, done int) {
	var s [checkLane]float64
	for ; done+checkLane <= len(x); done += checkLane {
		blk := x[done : done+checkLane : done+checkLane]
		bad := false
		for _, v := range blk {
			if isNonFinite(v) {
				bad = true
			}
		}
		if bad {
			break
		}
		for j, v := range blk {
			f := float64(v)
			s[j] += f * f
		}
	}
	return reduce32(&s), done
}

// reduce32 adds the 32 partial sums in the order of the assembly: s[4k:4k+4]
// is the vector register k, lane by lane; registers are added pairwise
// (0+1, 2+3, 4+5, 6+7, then (01)+(23), (45)+(67), then the two), then the
// lanes as (l0+l2) + (l1+l3).
func reduce32(s *[checkLane]float64) float64 {
	var r [8][4]float64
	for k := range r {
		copy(r[k][:], s[4*k:4*k+4])
	}
	var v [4]float64
	for l := range v {
		a01, a23 := r[0][l]+r[1][l], r[2][l]+r[3][l]
		a45, a67 := r[4][l]+r[5][l], r[6][l]+r[7][l]
		v[l] = (a01 + a23) + (a45 + a67)
	}
	return (v[0] + v[2]) + (v[1] + v[3])
}
