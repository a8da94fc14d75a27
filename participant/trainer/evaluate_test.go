package trainer

import (
	"math"
	"strings"
	"testing"

	"github.com/confed/confed/internal/heartdisease"
)

func TestEvaluate(t *testing.T) {
	// One feature, w = 1, b = 0: the logit is the feature itself.
	w := Weights{W: []float64{1}}
	tests := []struct {
		name    string
		x, y    []float64
		wantAcc float64
		wantAUC float64
	}{
		{"perfect", []float64{-2, -1, 1, 2}, []float64{0, 0, 1, 1}, 1, 1},
		{"inverted", []float64{-2, -1, 1, 2}, []float64{1, 1, 0, 0}, 0, 0},
		// Positives at -1 and 3, negatives at -2 and 1: pairs (pos > neg) are
		// (-1,-2), (3,-2), (3,1) = 3 of 4.
		{"mixed", []float64{-2, -1, 1, 3}, []float64{0, 1, 0, 1}, 0.5, 0.75},
		// A tie counts one half. Positives {0, 2}, negatives {0, -1}: (0 vs 0) = 0.5,
		// (0 vs -1) = 1, (2 vs 0) = 1, (2 vs -1) = 1, so 3.5 of 4. A logit of 0 is
		// classified positive, so the negative at 0 is the one error.
		{"tie", []float64{0, 2, 0, -1}, []float64{1, 1, 0, 0}, 0.75, 0.875},
		{"single class", []float64{-1, 1}, []float64{1, 1}, 0.5, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ds heartdisease.Dataset
			for i, v := range tt.x {
				ds.X = append(ds.X, []float64{v})
				ds.Y = append(ds.Y, tt.y[i])
			}
			m, err := Evaluate(w, ds)
			if err != nil {
				t.Fatal(err)
			}
			if m.N != len(tt.x) || m.Accuracy != tt.wantAcc {
				t.Errorf("N %d accuracy %v, want %d %v", m.N, m.Accuracy, len(tt.x), tt.wantAcc)
			}
			if !(m.AUC == tt.wantAUC || math.IsNaN(m.AUC) && math.IsNaN(tt.wantAUC)) {
				t.Errorf("AUC %v, want %v", m.AUC, tt.wantAUC)
			}
			wantLoss := 0.0
			for i, v := range tt.x {
				wantLoss += logLoss(v, tt.y[i])
			}
			if wantLoss /= float64(len(tt.x)); math.Abs(m.Loss-wantLoss) > 1e-12 {
				t.Errorf("loss %v, want %v", m.Loss, wantLoss)
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	ds := heartdisease.Dataset{X: [][]float64{{1, 2}}, Y: []float64{1}}
	tests := []struct {
		name string
		w    Weights
		ds   heartdisease.Dataset
		want string
	}{
		{"empty", Zero(2), heartdisease.Dataset{}, "empty"},
		{"width", Zero(1), ds, "1 weights but the data has 2 features"},
		{"NaN bias", Weights{W: []float64{0, 0}, B: math.NaN()}, ds, "bias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Evaluate(tt.w, tt.ds); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Evaluate error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
