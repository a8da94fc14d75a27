package trainer

import (
	"fmt"
	"math"
)

// Weights are the parameters of a logistic-regression model: P(y=1|x) = σ(W·x + B).
type Weights struct {
	W []float64
	B float64
}

// Zero returns all-zero weights for n features, the usual initial global model.
func Zero(n int) Weights { return Weights{W: make([]float64, n)} }

// Clone returns a deep copy of w.
func (w Weights) Clone() Weights {
	return Weights{W: append([]float64(nil), w.W...), B: w.B}
}

// validate checks that w has n finite weights and a finite bias.
func (w Weights) validate(n int) error {
	if len(w.W) != n {
		return fmt.Errorf("trainer: model has %d weights but the data has %d features", len(w.W), n)
	}
	for i, v := range w.W {
		if !isFinite(v) {
			return fmt.Errorf("trainer: weight %d is not finite", i)
		}
	}
	if !isFinite(w.B) {
		return fmt.Errorf("trainer: bias is not finite")
	}
	return nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
