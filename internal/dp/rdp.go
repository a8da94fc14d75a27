package dp

import (
	"fmt"
	"math"
)

// DefaultOrders are the Rényi orders the accountant evaluates: 1.1 to 10.9
// in steps of 0.1, then 12 to 63 (Opacus's DEFAULT_ALPHAS, TF Privacy's
// default orders).
var DefaultOrders = func() []float64 {
	var o []float64
	for x := 1; x < 100; x++ {
		o = append(o, 1+float64(x)/10)
	}
	for a := 12; a < 64; a++ {
		o = append(o, float64(a))
	}
	return o
}()

// RDP returns the Rényi-DP of one step of the sampled Gaussian mechanism
// with sampling rate q (0 ≤ q ≤ 1) and noise multiplier z (> 0) at each of
// orders (each > 1). A value may be +Inf (no finite bound at that order).
func RDP(q, z float64, orders []float64) ([]float64, error) {
	if !(q >= 0 && q <= 1) {
		return nil, fmt.Errorf("dp: sampling rate %v, want 0 ≤ q ≤ 1", q)
	}
	if !(z > 0) || math.IsInf(z, 0) {
		return nil, fmt.Errorf("dp: noise multiplier %v, want a positive finite number", z)
	}
	out := make([]float64, len(orders))
	for i, a := range orders {
		if !(a > 1) {
			return nil, fmt.Errorf("dp: order %v, want > 1", a)
		}
		v, err := rdpAt(q, z, a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func rdpAt(q, z, alpha float64) (float64, error) {
	switch {
	case q == 0:
		return 0, nil
	case q == 1:
		return alpha / (2 * z * z), nil
	case math.IsInf(alpha, 1):
		return math.Inf(1), nil
	}
	var la float64
	var err error
	if alpha == math.Trunc(alpha) {
		la = logAInt(q, z, int(alpha))
	} else {
		la, err = logAFrac(q, z, alpha)
	}
	if err != nil {
		return 0, err
	}
	return la / (alpha - 1), nil
}

// logAInt is log A_α for integer α: log Σ_i C(α,i) q^i (1−q)^(α−i) exp((i²−i)/(2z²)).
func logAInt(q, z float64, alpha int) float64 {
	la := math.Inf(-1)
	for i := 0; i <= alpha; i++ {
		c := logBinomInt(alpha, i) + float64(i)*math.Log(q) + float64(alpha-i)*math.Log1p(-q)
		la = logAdd(la, c+float64(i*i-i)/(2*z*z))
	}
	return la
}

// logAFrac is log A_α for fractional α: the series of Mironov et al. 2019
// (Section 3.3) over both halves of the integral split at z0, with every
// term added in absolute value. The terms of the true series alternate in
// sign once i > α + 1; summing their magnitudes gives an upper bound on A_α
// (so a conservative ε) and avoids cancellation, as Google's dp_accounting
// does. It stops once both halves' terms decrease and are below e⁻³⁰ of
// the total, and returns +Inf (the order then gives no bound) if that does
// not happen within maxFracTerms terms.
func logAFrac(q, z, alpha float64) (float64, error) {
	la0, la1 := math.Inf(-1), math.Inf(-1)
	last0, last1 := math.Inf(-1), math.Inf(-1)
	z0 := z*z*math.Log(1/q-1) + 0.5
	for i := range maxFracTerms {
		fi := float64(i)
		lc, _ := logAbsBinom(alpha, fi)
		j := alpha - fi
		lt0 := lc + fi*math.Log(q) + j*math.Log1p(-q)
		lt1 := lc + j*math.Log(q) + fi*math.Log1p(-q)
		le0 := math.Log(0.5) + logErfc((fi-z0)/(math.Sqrt2*z))
		le1 := math.Log(0.5) + logErfc((z0-j)/(math.Sqrt2*z))
		ls0 := lt0 + (fi*fi-fi)/(2*z*z) + le0
		ls1 := lt1 + (j*j-j)/(2*z*z) + le1
		la0, la1 = logAdd(la0, ls0), logAdd(la1, ls1)
		total := logAdd(la0, la1)
		if ls0 < last0 && ls1 < last1 && math.Max(ls0, ls1) < total-30 {
			return total, nil
		}
		last0, last1 = ls0, ls1
	}
	return math.Inf(1), nil
}

// maxFracTerms bounds the series of logAFrac.
const maxFracTerms = 1000

func logBinomInt(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// logAbsBinom returns log|C(α, i)| and its sign for real α > 0, integer i ≥ 0.
func logAbsBinom(alpha, i float64) (float64, int) {
	a, sa := math.Lgamma(alpha + 1)
	b, _ := math.Lgamma(i + 1)
	c, sc := math.Lgamma(alpha - i + 1)
	return a - b - c, sa * sc
}

// logErfc is log(erfc(x)), accurate where erfc underflows (the Laurent
// series of erfc at infinity, as in TF Privacy).
func logErfc(x float64) float64 {
	if r := math.Erfc(x); r > 0 {
		return math.Log(r)
	}
	x2 := x * x
	return -math.Log(math.Pi)/2 - math.Log(x) - x2 - 0.5/x2 + 0.625/(x2*x2) - 37.0/24.0/(x2*x2*x2) + 353.0/64.0/(x2*x2*x2*x2)
}

// logAdd is log(e^a + e^b).
func logAdd(a, b float64) float64 {
	lo, hi := math.Min(a, b), math.Max(a, b)
	if math.IsInf(lo, -1) {
		return hi
	}
	return math.Log1p(math.Exp(lo-hi)) + hi
}
