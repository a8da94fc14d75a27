package dp

import (
	"fmt"
	"math"
)

// Adaptive is quantile-based adaptive clipping (Andrew, Thakkar, McMahan
// and Ramaswamy 2021, "Differentially Private Learning with Adaptive
// Clipping"): after each round the clip norm moves geometrically towards
// the TargetQuantile of the participants' update norms, estimated from a
// noised count of the updates that were not clipped.
type Adaptive struct {
	// TargetQuantile γ is the share of updates that should fall within
	// the clip norm, 0 < γ < 1.
	TargetQuantile float64
	// LearningRate η of the geometric update C ← C·exp(−η(b̄ − γ)), > 0.
	LearningRate float64
	// CountNoise σ_b is the standard deviation of the Gaussian noise on
	// the count of unclipped updates, > 0.
	CountNoise float64
}

// Validate checks the parameters.
func (a Adaptive) Validate() error {
	switch {
	case !(a.TargetQuantile > 0 && a.TargetQuantile < 1):
		return fmt.Errorf("dp: adaptive clipping target quantile %v, want 0 < γ < 1", a.TargetQuantile)
	case !(a.LearningRate > 0) || math.IsInf(a.LearningRate, 0):
		return fmt.Errorf("dp: adaptive clipping learning rate %v, want a positive finite number", a.LearningRate)
	case !(a.CountNoise > 0) || math.IsInf(a.CountNoise, 0):
		return fmt.Errorf("dp: adaptive clipping count noise %v, want a positive finite number", a.CountNoise)
	}
	return nil
}

// UpdateNoise returns the noise multiplier z_Δ to put on the sum of the
// clipped updates so that, together with the count noise σ_b, the round is
// as private as one Gaussian mechanism with noise multiplier z (Andrew et
// al. 2021, Theorem 1; the centred count Σ(bᵢ − ½) has sensitivity ½):
//
//	z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2).
//
// It fails unless 2σ_b > z: the count alone would spend the whole budget.
func UpdateNoise(z, countNoise float64) (float64, error) {
	if !(z > 0) || math.IsInf(z, 0) {
		return 0, fmt.Errorf("dp: noise multiplier %v, want a positive finite number", z)
	}
	if !(2*countNoise > z) {
		return 0, fmt.Errorf("dp: count noise %v must exceed half the noise multiplier (%v): the clipped count would spend the whole budget", countNoise, z/2)
	}
	r := 1/(z*z) - 1/(4*countNoise*countNoise)
	return 1 / math.Sqrt(r), nil
}

// NextNorm is the clip norm of the next round, given this round's norm c,
// the number of updates whose norm was at most c (below) among m, and a
// generator for the count noise:
//
//	b̄ = (Σ(bᵢ − ½) + N(0, σ_b²)) / m + ½,   C' = C · exp(−η (b̄ − γ)).
func (a Adaptive) NextNorm(c float64, below, m int, g *Gaussian) (float64, error) {
	if err := a.Validate(); err != nil {
		return 0, err
	}
	if m < 1 || below < 0 || below > m {
		return 0, fmt.Errorf("dp: %d of %d updates unclipped", below, m)
	}
	centred := float64(below) - float64(m)/2 + a.CountNoise*g.Next()
	b := centred/float64(m) + 0.5
	next := c * math.Exp(-a.LearningRate*(b-a.TargetQuantile))
	if !(next > 0) || math.IsInf(next, 0) {
		return 0, fmt.Errorf("dp: next clip norm %v", next)
	}
	return next, nil
}
