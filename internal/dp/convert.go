package dp

import (
	"fmt"
	"math"
)

// Epsilon converts RDP values at orders into the smallest ε for which the
// mechanism is (ε, δ)-DP, using Balle et al. 2020, Theorem 21 (the
// conversion of Opacus's get_privacy_spent and of dp_accounting's
// compute_epsilon; Canonne, Kamath and Steinke 2020, Proposition 12). As in
// dp_accounting, orders at or below 1.01 (where the bound is numerically
// unstable) are skipped, and ε is 0 when the KL bound δ ≥ √(1 − e^(−rdp))
// already holds. It also returns the order that attains ε. ε is +Inf if no
// order gives a finite bound, and never below 0.
func Epsilon(orders, rdp []float64, delta float64) (eps, order float64, err error) {
	if len(orders) != len(rdp) || len(orders) == 0 {
		return 0, 0, fmt.Errorf("dp: %d orders and %d RDP values", len(orders), len(rdp))
	}
	if !(delta > 0 && delta < 1) {
		return 0, 0, fmt.Errorf("dp: delta %v, want 0 < δ < 1", delta)
	}
	eps, order = math.Inf(1), math.NaN()
	for i, a := range orders {
		r := rdp[i]
		if math.IsNaN(r) || math.IsInf(r, 1) || !(a > 1) {
			continue
		}
		if r <= 0 || delta*delta+math.Expm1(-r) > 0 {
			return 0, a, nil
		}
		if a <= 1.01 {
			continue
		}
		e := r + math.Log((a-1)/a) - (math.Log(delta)+math.Log(a))/(a-1)
		if e < eps {
			eps, order = e, a
		}
	}
	return math.Max(eps, 0), order, nil
}
