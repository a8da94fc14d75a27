package trainer

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
)

func TestSigmoidAndLogLossStable(t *testing.T) {
	tests := []struct {
		z, y           float64
		wantSig, wantL float64
	}{
		{0, 1, 0.5, math.Ln2},
		{0, 0, 0.5, math.Ln2},
		{1000, 1, 1, 0},
		{1000, 0, 1, 1000},
		{-1000, 0, 0, 0},
		{-1000, 1, 0, 1000},
		{2, 1, 1 / (1 + math.Exp(-2)), math.Log1p(math.Exp(-2))},
	}
	for _, tt := range tests {
		if got := sigmoid(tt.z); math.Abs(got-tt.wantSig) > 1e-12 {
			t.Errorf("sigmoid(%v) = %v, want %v", tt.z, got, tt.wantSig)
		}
		if got := logLoss(tt.z, tt.y); math.Abs(got-tt.wantL) > 1e-9 || math.IsInf(got, 0) {
			t.Errorf("logLoss(%v, %v) = %v, want %v", tt.z, tt.y, got, tt.wantL)
		}
	}
}

// TestGradientFiniteDifferences checks batchGrad against central differences of
// objective, with and without the penalties.
func TestGradientFiniteDifferences(t *testing.T) {
	x := blas64.General{Rows: 4, Cols: 3, Stride: 3, Data: []float64{
		0.5, -1.2, 2.0,
		1.5, 0.3, -0.7,
		-0.4, 0.8, 0.1,
		2.2, -0.6, -1.9,
	}}
	y := []float64{1, 0, 1, 0}
	w := Weights{W: []float64{0.3, -0.2, 0.7}, B: -0.1}
	global := Weights{W: []float64{-0.5, 0.4, 0.1}, B: 0.6}
	tests := []struct {
		name string
		p    Params
	}{
		{"plain", Params{}},
		{"L2", Params{L2: 0.3}},
		{"FedProx", Params{ProximalMu: 0.7}},
		{"both", Params{L2: 0.1, ProximalMu: 2}},
	}
	const h = 1e-6
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := make([]float64, 3)
			_, gb := batchGrad(x, y, w, global, tt.p, gw, make([]float64, 4))
			for j := range w.W {
				plus, minus := w.Clone(), w.Clone()
				plus.W[j] += h
				minus.W[j] -= h
				num := (objective(x, y, plus, global, tt.p) - objective(x, y, minus, global, tt.p)) / (2 * h)
				if math.Abs(num-gw[j]) > 1e-7 {
					t.Errorf("dL/dw[%d] = %v, finite differences %v", j, gw[j], num)
				}
			}
			plus, minus := w.Clone(), w.Clone()
			plus.B += h
			minus.B -= h
			num := (objective(x, y, plus, global, tt.p) - objective(x, y, minus, global, tt.p)) / (2 * h)
			if math.Abs(num-gb) > 1e-7 {
				t.Errorf("dL/db = %v, finite differences %v", gb, num)
			}
		})
	}
}
