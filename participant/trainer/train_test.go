package trainer

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/confed/confed/internal/heartdisease"
)

// toyData is a small, nearly separable two-feature problem.
func toyData() heartdisease.Dataset {
	var ds heartdisease.Dataset
	for i := range 40 {
		a, b := float64(i%7)/3-1, float64(i%5)/2-1
		y := 0.0
		if 2*a-b+0.3*float64(i%3-1) > 0 {
			y = 1
		}
		ds.X = append(ds.X, []float64{a, b})
		ds.Y = append(ds.Y, y)
	}
	return ds
}

func testParams() Params {
	return Params{LocalEpochs: 20, LearningRate: 0.5, BatchSize: 8, Seed: 3}
}

func TestTrainLearns(t *testing.T) {
	ds := toyData()
	before, err := Evaluate(Zero(2), ds)
	if err != nil {
		t.Fatal(err)
	}
	w, st, err := Train(Zero(2), ds, testParams())
	if err != nil {
		t.Fatal(err)
	}
	after, _ := Evaluate(w, ds)
	if st.NumExamples != 40 || st.Epochs != 20 {
		t.Errorf("stats %+v", st)
	}
	if !(after.Loss < before.Loss) || after.Accuracy < 0.85 {
		t.Errorf("loss %.3f -> %.3f, accuracy %.3f", before.Loss, after.Loss, after.Accuracy)
	}
	if math.Abs(st.Loss-after.Loss) > 0.1 {
		t.Errorf("final-epoch loss %.3f far from evaluated loss %.3f", st.Loss, after.Loss)
	}
}

func TestTrainDeterministic(t *testing.T) {
	ds := toyData()
	p := testParams()
	w1, _, _ := Train(Zero(2), ds, p)
	w2, _, _ := Train(Zero(2), ds, p)
	if !reflect.DeepEqual(w1, w2) {
		t.Errorf("same seed, different weights: %v, %v", w1, w2)
	}
	p.Seed++
	w3, _, _ := Train(Zero(2), ds, p)
	if reflect.DeepEqual(w1, w3) {
		t.Error("different seeds gave identical weights")
	}
}

func TestTrainDoesNotModifyInputs(t *testing.T) {
	ds := toyData()
	want := heartdisease.Concat(ds)
	global := Weights{W: []float64{0.1, 0.2}, B: 0.3}
	if _, _, err := Train(global, ds, testParams()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ds, want) {
		t.Error("Train modified the dataset")
	}
	if !reflect.DeepEqual(global, Weights{W: []float64{0.1, 0.2}, B: 0.3}) {
		t.Error("Train modified the global weights")
	}
}

// TestFedProxPullsTowardsGlobal checks that a growing μ keeps the local model ever
// closer to the global one, and that a large μ keeps it there.
func TestFedProxPullsTowardsGlobal(t *testing.T) {
	ds := toyData()
	global := Weights{W: []float64{-1, 2}, B: 0.5}
	dist := func(w Weights) float64 {
		d := w.B - global.B
		s := d * d
		for j := range w.W {
			d = w.W[j] - global.W[j]
			s += d * d
		}
		return math.Sqrt(s)
	}
	prev := math.Inf(1)
	for _, mu := range []float64{0, 0.1, 1, 10, 100} {
		p := testParams()
		p.ProximalMu = mu
		p.LearningRate = 0.01 // keeps lr·μ < 2, the stability limit
		p.LocalEpochs = 200
		w, _, err := Train(global, ds, p)
		if err != nil {
			t.Fatalf("μ=%v: %v", mu, err)
		}
		d := dist(w)
		t.Logf("μ=%v: ‖θ − θ_global‖ = %.4f", mu, d)
		if d >= prev {
			t.Errorf("μ=%v: distance %.4f did not shrink (previous %.4f)", mu, d, prev)
		}
		prev = d
	}
	if prev > 0.02 {
		t.Errorf("with μ=100 the model moved %.4f from the global model, want ≈ 0", prev)
	}
}

func TestTrainValidation(t *testing.T) {
	good := testParams()
	with := func(f func(*Params)) Params { p := good; f(&p); return p }
	ds := toyData()
	tests := []struct {
		name   string
		global Weights
		ds     heartdisease.Dataset
		p      Params
		want   string
	}{
		{"zero epochs", Zero(2), ds, with(func(p *Params) { p.LocalEpochs = 0 }), "local epochs"},
		{"zero learning rate", Zero(2), ds, with(func(p *Params) { p.LearningRate = 0 }), "learning rate"},
		{"NaN learning rate", Zero(2), ds, with(func(p *Params) { p.LearningRate = math.NaN() }), "learning rate"},
		{"infinite learning rate", Zero(2), ds, with(func(p *Params) { p.LearningRate = math.Inf(1) }), "learning rate"},
		{"zero batch", Zero(2), ds, with(func(p *Params) { p.BatchSize = 0 }), "batch size"},
		{"negative mu", Zero(2), ds, with(func(p *Params) { p.ProximalMu = -1 }), "proximal mu"},
		{"NaN mu", Zero(2), ds, with(func(p *Params) { p.ProximalMu = math.NaN() }), "proximal mu"},
		{"infinite L2", Zero(2), ds, with(func(p *Params) { p.L2 = math.Inf(1) }), "L2"},
		{"wrong width", Zero(3), ds, good, "3 weights but the data has 2 features"},
		{"NaN weight", Weights{W: []float64{0, math.NaN()}}, ds, good, "weight 1 is not finite"},
		{"infinite bias", Weights{W: []float64{0, 0}, B: math.Inf(-1)}, ds, good, "bias"},
		{"empty data", Zero(2), heartdisease.Dataset{}, good, "empty"},
		{"no features", Zero(0), heartdisease.Dataset{X: [][]float64{{}}, Y: []float64{1}}, good, "no features"},
		{"bad label", Zero(1), heartdisease.Dataset{X: [][]float64{{1}}, Y: []float64{0.5}}, good, "label"},
		{"ragged", Zero(1), heartdisease.Dataset{X: [][]float64{{1}, {1, 2}}, Y: []float64{0, 1}}, good, "features"},
		{"NaN feature", Zero(1), heartdisease.Dataset{X: [][]float64{{math.NaN()}}, Y: []float64{0}}, good, "finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Train(tt.global, tt.ds, tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Train error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTrainDiverges(t *testing.T) {
	p := testParams()
	p.LearningRate = 1e300
	p.L2 = 1e10
	_, _, err := Train(Zero(2), toyData(), p)
	if !errors.Is(err, ErrDiverged) {
		t.Errorf("Train error = %v, want ErrDiverged", err)
	}
}

func TestBatchLargerThanData(t *testing.T) {
	p := testParams()
	p.BatchSize = 1000
	if _, _, err := Train(Zero(2), toyData(), p); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultParamsValid(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	if DefaultRounds < 1 || DefaultRounds > 20 {
		t.Errorf("DefaultRounds = %d, want 1..20", DefaultRounds)
	}
}
