package strategy

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestStepInPlaceMatchesStep runs every optimiser over a model of several
// blocks, with frozen ranges across block boundaries: the in-place step
// from a block-wise source gives bit for bit what Step gives, and the same
// state.
func TestStepInPlaceMatchesStep(t *testing.T) {
	n := 3*stepBlock + 17
	frozen := []Range{{stepBlock - 5, stepBlock + 5}, {2*stepBlock + 100, 2*stepBlock + 101}, {n - 3, n}}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, name := range OptimizerNames {
		t.Run(name, func(t *testing.T) {
			c := mustDefaults(t, name)
			c.Frozen = frozen
			a, _ := NewOptimizer(c, n)
			b, _ := NewOptimizer(c, n)
			global := make([]float32, n)
			for i := range global {
				global[i] = float32(rng.NormFloat64())
			}
			for step := range 3 {
				delta := make([]float64, n)
				for i := range delta {
					delta[i] = rng.NormFloat64() * 0.01
				}
				want, err := a.Step(global, delta)
				if err != nil {
					t.Fatal(err)
				}
				got := slices.Clone(global)
				if err := b.StepInPlace(got, SliceDelta(delta)); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("step %d: in-place result differs from Step", step)
				}
				if !bytes.Equal(a.State(), b.State()) || a.Steps() != b.Steps() {
					t.Fatalf("step %d: states differ", step)
				}
				global = want
			}
		})
	}
}

// TestStepInPlaceIsAtomic makes the last block fail after the earlier ones
// were computed: the model and the state must be untouched.
func TestStepInPlaceIsAtomic(t *testing.T) {
	n := 2*stepBlock + 9
	for _, tc := range []struct {
		name  string
		spoil func(global []float32, delta []float64)
		want  string
	}{
		{"overflow in the last block", func(g []float32, d []float64) { g[n-1], d[n-1] = math.MaxFloat32, 1e38 }, "not finite"},
		{"NaN delta in the last block", func(_ []float32, d []float64) { d[n-2] = math.NaN() }, "delta["},
		{"infinite global in the last block", func(g []float32, _ []float64) { g[n-3] = float32(math.Inf(1)) }, "global["},
	} {
		for _, name := range OptimizerNames {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				c := mustDefaults(t, name)
				if name != FedAvg {
					c.ServerLR = 1e37 // steps of about 1e37: finite, but not on top of MaxFloat32
				}
				opt, _ := NewOptimizer(c, n)
				global := make([]float32, n)
				delta := make([]float64, n)
				for i := range delta {
					global[i], delta[i] = 1, 0.5
				}
				if err := opt.StepInPlace(global, SliceDelta(delta)); err != nil {
					t.Fatal(err)
				}
				before, steps := opt.State(), opt.Steps()
				tc.spoil(global, delta)
				g0 := slices.Clone(global)
				err := opt.StepInPlace(global, SliceDelta(delta))
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				if !slices.Equal(global, g0) && !hasNaN(g0) {
					t.Fatal("a failed step modified the model")
				}
				if !bytes.Equal(before, opt.State()) || opt.Steps() != steps {
					t.Fatal("a failed step changed the state")
				}
			})
		}
	}
}

func hasNaN(x []float32) bool {
	return slices.ContainsFunc(x, func(v float32) bool { return v != v })
}

// TestStepInPlaceRefusesShortSource: a delta of the wrong length is refused.
func TestStepInPlaceRefusesShortSource(t *testing.T) {
	opt, _ := NewOptimizer(mustDefaults(t, FedAvg), 10)
	if err := opt.StepInPlace(make([]float32, 10), SliceDelta(make([]float64, 9))); err == nil {
		t.Fatal("a 9-value delta was accepted for 10 parameters")
	}
}
