package strategy

import (
	"fmt"
	"math"
)

// clipMargin shrinks the clipping factor so that float32 rounding of the
// scaled values (relative error ≤ 2⁻²⁴ each) cannot push the norm above
// the bound.
const clipMargin = 1 - 1.0/(1<<22)

// ClipNorm scales update in place so that its L2 norm is at most bound, a
// pre-processing step usable with any rule or optimiser (as in DP-FedAvg's
// fixed clipping). It returns whether it scaled and the norm before
// scaling, computed in float64. A bound ≤ 0 or NaN means no bound, and an
// update whose norm is not finite is left alone. After scaling the norm is
// at most bound (to within float32 subnormal rounding) and at least
// bound·(1 − 2⁻²¹).
func ClipNorm(update []float32, bound float64) (scaled bool, norm float64) {
	scaled, norm, _ = ClipNormExcept(update, bound, nil)
	return scaled, norm
}

// ClipNormExcept is ClipNorm over the coordinates outside except, which are
// neither counted in the norm nor scaled (for example the feature
// statistics, which must be averaged exactly). It fails, changing nothing,
// if a range is not within update.
func ClipNormExcept(update []float32, bound float64, except []Range) (scaled bool, norm float64, err error) {
	rs, err := normalizeRanges("except", except, len(update))
	if err != nil {
		return false, 0, fmt.Errorf("strategy: clip: %w", err)
	}
	sum := 0.0
	segments(rs, 0, len(update), func(lo, hi int, in bool) {
		if in {
			return
		}
		for _, v := range update[lo:hi] {
			sum += float64(v) * float64(v)
		}
	})
	norm = math.Sqrt(sum)
	if !(bound > 0) || !(norm > bound) || math.IsInf(norm, 0) {
		return false, norm, nil
	}
	f := bound / norm * clipMargin
	segments(rs, 0, len(update), func(lo, hi int, in bool) {
		if in {
			return
		}
		for i := lo; i < hi; i++ {
			update[i] = float32(float64(update[i]) * f)
		}
	})
	return true, norm, nil
}
