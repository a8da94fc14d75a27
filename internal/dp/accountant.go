package dp

import (
	"fmt"
	"math"
	"slices"
)

// Accountant composes Gaussian-mechanism steps in Rényi DP and reports
// (ε, δ). The zero value is not usable: create it with NewAccountant.
type Accountant struct {
	orders []float64
	rdp    []float64
	steps  int
}

// NewAccountant returns an accountant over orders (DefaultOrders if nil).
func NewAccountant(orders []float64) *Accountant {
	if orders == nil {
		orders = DefaultOrders
	}
	return &Accountant{orders: slices.Clone(orders), rdp: make([]float64, len(orders))}
}

// Step composes steps runs of the sampled Gaussian mechanism with sampling
// rate q and noise multiplier z.
func (a *Accountant) Step(q, z float64, steps int) error {
	if steps < 0 {
		return fmt.Errorf("dp: %d steps", steps)
	}
	r, err := RDP(q, z, a.orders)
	if err != nil {
		return err
	}
	for i := range a.rdp {
		a.rdp[i] += r[i] * float64(steps)
	}
	a.steps += steps
	return nil
}

// Steps is the number of steps composed so far.
func (a *Accountant) Steps() int { return a.steps }

// Epsilon is the ε of everything composed so far at delta (0 before any step).
func (a *Accountant) Epsilon(delta float64) (float64, error) {
	if a.steps == 0 {
		if !(delta > 0 && delta < 1) {
			return 0, fmt.Errorf("dp: delta %v, want 0 < δ < 1", delta)
		}
		return 0, nil
	}
	eps, _, err := Epsilon(a.orders, a.rdp, delta)
	return eps, err
}

// EpsilonAfter is the ε that steps more runs of (q, z) would bring the
// total to, without composing them.
func (a *Accountant) EpsilonAfter(q, z float64, steps int, delta float64) (float64, error) {
	c := a.Clone()
	if err := c.Step(q, z, steps); err != nil {
		return math.NaN(), err
	}
	return c.Epsilon(delta)
}

// Clone returns an independent copy.
func (a *Accountant) Clone() *Accountant {
	return &Accountant{orders: slices.Clone(a.orders), rdp: slices.Clone(a.rdp), steps: a.steps}
}
