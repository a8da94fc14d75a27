package aggregator

import (
	"errors"
	"fmt"
	"math"

	"github.com/confed/confed/aggregator/strategy"
	"github.com/confed/confed/internal/dp"
	"github.com/confed/confed/internal/fixedpoint"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// dpCentral is the mode in which the aggregator applies differential
// privacy (docs/privacy.md); in local mode the participants do.
const dpCentral = "central"

// dpRound is the central differential privacy of one training round: each
// included update is clipped to the round's L2 norm as it is folded, and
// Gaussian noise is added once to the combined update. The coordinates of
// the feature statistics are excluded from the norm and zeroed in the
// combined update (they are fixed after the statistics round), so the
// published delta depends on each participant only through its clipped
// update. Methods are called under the round's lock.
type dpRound struct {
	p    *confedv1.PrivacyParams
	skip []dp.Span
	// below counts the updates whose norm was at most the clip norm (for
	// adaptive clipping), n all folded updates; maxWeight and total are the
	// largest and the sum of their example counts.
	below, n  int
	maxWeight float64
	total     float64
}

// newDPRound returns the round's central DP, nil when the round asks for
// none (or is the statistics round, which is released without noise).
func newDPRound(p *confedv1.PrivacyParams, frozen []strategy.Range, statistics bool) (*dpRound, error) {
	if p == nil || p.GetMode() != dpCentral || statistics {
		return nil, nil
	}
	if z := p.GetNoiseMultiplier(); !(z > 0) || math.IsInf(z, 0) {
		return nil, fmt.Errorf("central DP: noise multiplier %v, want a positive finite number", z)
	}
	if c := p.GetClipNorm(); !(c > 0) || math.IsInf(c, 0) {
		return nil, fmt.Errorf("central DP: clip norm %v, want a positive finite number", c)
	}
	if a := p.GetAdaptive(); a != nil {
		if err := adaptive(a).Validate(); err != nil {
			return nil, fmt.Errorf("central DP: %w", err)
		}
	}
	skip := make([]dp.Span, len(frozen))
	for i, r := range frozen {
		skip[i] = dp.Span{Lo: r.Lo, Hi: r.Hi}
	}
	return &dpRound{p: p, skip: skip}, nil
}

func adaptive(a *confedv1.AdaptiveClipping) dp.Adaptive {
	return dp.Adaptive{TargetQuantile: a.GetTargetQuantile(), LearningRate: a.GetLearningRate(), CountNoise: a.GetCountNoiseMultiplier()}
}

// count records one folded update of weight w and norm.
func (d *dpRound) count(norm, w float64) {
	if norm <= d.p.GetClipNorm() {
		d.below++
	}
	d.n++
	d.total += w
	d.maxWeight = math.Max(d.maxWeight, w)
}

// foldFloat clips a float32 update in place.
func (d *dpRound) foldFloat(values []float32, w float64) error {
	norm, _, err := dp.Clip(values, d.p.GetClipNorm(), d.skip)
	if err != nil {
		return fmt.Errorf("central DP: %w", err)
	}
	d.count(norm, w)
	return nil
}

// dpFoldRing clips a quantised update in place: it measures the norm of
// the dequantised update, signed(q)/(scale·w), and if it exceeds the clip
// norm scales every element by C/norm, truncating towards zero, so that no
// magnitude grows and the dequantised norm is at most C exactly. It works
// on q directly, coordinate by coordinate: no copy of the update is made.
func dpFoldRing[T ringWord](d *dpRound, q []T, w uint64, p fixedpoint.Params) error {
	unit := p.Scale * float64(w)
	sum := 0.0
	err := dp.Ranges(len(q), d.skip, func(lo, hi int) {
		for _, v := range q[lo:hi] {
			x := float64(signedWord(v)) / unit
			sum += x * x
		}
	})
	if err != nil { // an update that does not fit the statistics spans is refused, not left unclipped
		return fmt.Errorf("central DP: %w", err)
	}
	norm := math.Sqrt(sum)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return fmt.Errorf("central DP: update norm is %v", norm)
	}
	if c := d.p.GetClipNorm(); norm > c {
		f := c / norm
		_ = dp.Ranges(len(q), d.skip, func(lo, hi int) { // the spans passed just above
			for i, v := range q[lo:hi] {
				q[lo+i] = T(int64(math.Trunc(float64(signedWord(v)) * f)))
			}
		})
	}
	d.count(norm, float64(w))
	return nil
}

// foldRing is dpFoldRing in the 32-bit ring.
func (d *dpRound) foldRing(q []uint32, w uint64, p fixedpoint.Params) error {
	return dpFoldRing(d, q, w, p)
}

// signedWord is the two's-complement value of a ring word.
func signedWord[T ringWord](v T) int64 {
	if ^T(0) == T(math.MaxUint32) {
		return int64(int32(uint32(v)))
	}
	return int64(uint64(v))
}

// finish returns the noise to add to the combined (weighted mean) update:
// N(0, σ²) on every coordinate outside the statistics, with
// σ = z · C · max wᵢ / Σ wᵢ. The L2 sensitivity of the weighted mean to one
// participant's clipped update is at most C·max wᵢ/Σ wᵢ, so this is the
// Gaussian mechanism with noise multiplier z on the weighted sum, divided
// by the (public) total weight afterwards. With adaptive clipping it also
// computes the next round's clip norm from the noised count of unclipped
// updates. It returns what was applied, for the signed manifest.
func (d *dpRound) finish() (*dp.KeyedNoise, *confedv1.PrivacyApplied, error) {
	if d.n == 0 || !(d.total > 0) {
		return nil, nil, errors.New("central DP: no updates were folded")
	}
	z, c := d.p.GetNoiseMultiplier(), d.p.GetClipNorm()
	noise, err := dp.NewKeyedNoise(z * c * d.maxWeight / d.total)
	if err != nil {
		return nil, nil, err
	}
	applied := &confedv1.PrivacyApplied{Mode: dpCentral, NoiseMultiplier: z, ClipNorm: c, NoiseStddev: noise.Std()}
	if a := d.p.GetAdaptive(); a != nil {
		src, err := dp.NewSource()
		if err != nil {
			return nil, nil, err
		}
		if applied.NextClipNorm, err = adaptive(a).NextNorm(c, d.below, d.n, dp.NewGaussian(src)); err != nil {
			return nil, nil, fmt.Errorf("central DP: %w", err)
		}
	}
	return noise, applied, nil
}

// withDP applies the round's central DP, if any, to the combined update:
// the result reads src, adds the keyed noise and zeroes the statistics.
// rs.mu is held.
func (rs *roundState) withDP(src strategy.DeltaSource) (strategy.DeltaSource, error) {
	if rs.dp == nil {
		return src, nil
	}
	noise, applied, err := rs.dp.finish()
	if err != nil {
		return nil, err
	}
	rs.dpApplied = applied
	return noisyDelta{src: src, noise: noise, skip: rs.dp.skip}, nil
}

// noisyDelta is a delta with keyed Gaussian noise added and the statistics
// coordinates zeroed; reading a block twice gives the same values.
type noisyDelta struct {
	src   strategy.DeltaSource
	noise *dp.KeyedNoise
	skip  []dp.Span
}

func (n noisyDelta) Len() int { return n.src.Len() }

func (n noisyDelta) Delta(lo int, dst []float64) error {
	if err := n.src.Delta(lo, dst); err != nil {
		return err
	}
	n.noise.Add(lo, dst)
	hi := lo + len(dst)
	for _, s := range n.skip {
		for i := max(s.Lo, lo); i < min(s.Hi, hi); i++ {
			dst[i-lo] = 0
		}
	}
	return nil
}
