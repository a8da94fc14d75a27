package fedavg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/confed/confed/internal/model"
)

// TestWeightedMeanMatchesReference compares Mean with a float64 reference
// computed directly as Σₖ (wₖ/W)·vₖ (a different association than the
// accumulator's Σₖ wₖ·vₖ / W). Tolerance: 1e-12 × (Σₖ (wₖ/W)·|vₖ|), i.e.
// relative to the magnitude of the terms, far looser than float64 rounding
// over a handful of terms (~1e-15) and far tighter than float32 (~1e-7).
func TestWeightedMeanMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	weightSets := [][]float64{{1}, {1, 1, 1}, {3, 17.5, 1}, {1, 1000, 1e6, 2, 5}}
	for _, n := range []int{1, 7, 1001, 4099} {
		for _, weights := range weightSets {
			t.Run(fmt.Sprintf("n=%d/weights=%v", n, weights), func(t *testing.T) {
				spec := model.Spec{{Name: "w", Shape: []int{n}}}
				acc := NewAccumulator(spec)
				updates := make([][]float32, len(weights))
				var total float64
				for k, w := range weights {
					updates[k] = randFlat(rng, n)
					for i := range updates[k] {
						updates[k][i] *= float32(math.Pow(10, float64(rng.IntN(7)-3))) // mixed magnitudes
					}
					if err := acc.Add(updates[k], w); err != nil {
						t.Fatal(err)
					}
					total += w
				}
				mean, err := acc.Mean()
				if err != nil {
					t.Fatal(err)
				}
				if acc.Count() != len(weights) || acc.TotalWeight() != total {
					t.Fatalf("Count, TotalWeight = %d, %g; want %d, %g", acc.Count(), acc.TotalWeight(), len(weights), total)
				}
				for i := range n {
					var ref, scale float64
					for k, w := range weights {
						ref += w / total * float64(updates[k][i])
						scale += w / total * math.Abs(float64(updates[k][i]))
					}
					if d := math.Abs(mean[i] - ref); d > 1e-12*scale {
						t.Fatalf("mean[%d] off the reference by %g (scale %g)", i, d, scale)
					}
				}
			})
		}
	}
}

func TestMeanOfNothing(t *testing.T) {
	acc := NewAccumulator(testSpec)
	if _, err := acc.Mean(); err == nil || !strings.Contains(err.Error(), "no updates") {
		t.Fatalf("Mean() of nothing = %v", err)
	}
}

func TestAddRefusesBadWeight(t *testing.T) {
	for _, w := range []float64{0, -1, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1)} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			acc := NewAccumulator(testSpec)
			err := acc.Add(make([]float32, 7), w)
			if ReasonOf(err) != ReasonBadWeight {
				t.Fatalf("Add(weight %v) = %v, want reason bad_weight", w, err)
			}
			if acc.Count() != 0 || acc.TotalWeight() != 0 {
				t.Fatal("a refused Add changed the accumulator")
			}
		})
	}
}

func TestAddRejectsBadValues(t *testing.T) {
	acc := NewAccumulator(testSpec)
	if err := acc.Add(make([]float32, 6), 1); err == nil || ReasonOf(err) != "" {
		t.Fatalf("Add(short values) = %v, want a non-refusal error", err)
	}
	vals := make([]float32, 7)
	vals[2] = float32(math.Inf(1))
	if err := acc.Add(vals, 1); ReasonOf(err) != ReasonNonFinite || !strings.Contains(err.Error(), `tensor "weight" element 1 is +Inf`) {
		t.Fatalf("Add(+Inf) = %v", err)
	}
	if acc.Count() != 0 {
		t.Fatal("a refused Add changed the accumulator")
	}
	bad := NewAccumulator(model.Spec{{Name: "b"}, {Name: "a"}})
	if err := bad.Add(nil, 1); err == nil {
		t.Fatal("Add on an accumulator with an invalid spec succeeded")
	}
}

func TestAccumulatorConcurrentAdds(t *testing.T) {
	acc := NewAccumulator(testSpec)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if err := acc.Add([]float32{1, 1, 1, 1, 1, 1, 1}, 2); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mean, err := acc.Mean()
	if err != nil || acc.Count() != 16 || acc.TotalWeight() != 32 || mean[3] != 1 {
		t.Fatalf("after 16 concurrent Adds: count %d, total %g, mean[3] %v, err %v", acc.Count(), acc.TotalWeight(), mean, err)
	}
}

func TestApply(t *testing.T) {
	global, err := model.FromFlat(testSpec, []float32{1, 2, 3, 4, 5, 6, 7})
	if err != nil {
		t.Fatal(err)
	}
	acc := NewAccumulator(testSpec)
	if err := acc.Add([]float32{1, 0, 0, 0, 0, 0, -4}, 1); err != nil {
		t.Fatal(err)
	}
	if err := acc.Add([]float32{3, 0, 0, 0, 0, 2, 0}, 3); err != nil {
		t.Fatal(err)
	}
	next, err := Apply(global, acc)
	if err != nil {
		t.Fatal(err)
	}
	// mean = ((1,…,−4)·1 + (3,…,2,0)·3) / 4 = (2.5, 0, 0, 0, 0, 1.5, −1)
	if want := []float32{3.5, 2, 3, 4, 5, 7.5, 6}; !sameBits(next.Flat(), want) {
		t.Fatalf("Apply() = %v, want %v", next.Flat(), want)
	}
	if global.Flat()[0] != 1 {
		t.Fatal("Apply modified global")
	}
}

func TestApplyRejects(t *testing.T) {
	global, _ := model.FromFlat(testSpec, make([]float32, 7))
	other, _ := model.FromFlat(model.Spec{{Name: "bias", Shape: []int{1}}, {Name: "weight", Shape: []int{6}}}, make([]float32, 7))
	full := NewAccumulator(testSpec)
	_ = full.Add(make([]float32, 7), 1)
	huge := NewAccumulator(testSpec)
	_ = huge.Add([]float32{math.MaxFloat32, 0, 0, 0, 0, 0, 0}, 1)
	nearMax, _ := model.FromFlat(testSpec, []float32{math.MaxFloat32, 0, 0, 0, 0, 0, 0})
	tests := []struct {
		name    string
		global  *model.Model
		acc     *Accumulator
		wantErr string
	}{
		{"spec mismatch", other, full, `tensor "weight" has shape [6] vs [2 3]`},
		{"nothing added", global, NewAccumulator(testSpec), "no updates"},
		{"nil global", nil, full, "nil model"},
		{"overflow", nearMax, huge, `tensor "bias" element 0 is not finite`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Apply(tt.global, tt.acc); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Apply() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestTakeMean(t *testing.T) {
	spec := model.Spec{{Name: "w", Shape: []int{5}}}
	a := NewAccumulator(spec)
	if _, err := a.TakeMean(); err == nil {
		t.Fatal("TakeMean of an empty accumulator succeeded")
	}
	if err := a.Add([]float32{1, 2, 3, 4, 5}, 1); err != nil {
		t.Fatal(err)
	}
	if err := a.Add([]float32{3, 2, 1, 0, -1}, 3); err != nil {
		t.Fatal(err)
	}
	want, err := a.Mean()
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.TakeMean()
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15*math.Abs(want[i]) {
			t.Fatalf("TakeMean[%d] = %v, Mean = %v", i, got[i], want[i])
		}
	}
	if err := a.Add([]float32{1, 1, 1, 1, 1}, 1); err == nil {
		t.Fatal("Add after TakeMean succeeded")
	}
}
