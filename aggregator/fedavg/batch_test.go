package fedavg

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/confed/confed/internal/model"
)

// batchSpec has more coordinates than a fold block, and an odd count, so
// that batched folds cross block boundaries and end on a tail.
var batchSpec = model.Spec{{Name: "w", Shape: []int{3*foldBlock + 17}}}

func randUpdates(rng *rand.Rand, k, n int) ([][]float32, []float64) {
	values := make([][]float32, k)
	weights := make([]float64, k)
	for i := range values {
		values[i] = make([]float32, n)
		for j := range values[i] {
			values[i][j] = float32(rng.NormFloat64())
		}
		weights[i] = float64(1 + rng.IntN(500))
	}
	return values, weights
}

// TestAddManyMatchesAdds: one batch gives bit for bit the sum of the same
// Adds one after another, for batches of 1 to 9 updates.
func TestAddManyMatchesAdds(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for k := 1; k <= 9; k++ {
		values, weights := randUpdates(rng, k, batchSpec.NumParams())
		one, many := NewAccumulator(batchSpec), NewAccumulator(batchSpec)
		for i := range values {
			if err := one.Add(values[i], weights[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := many.AddMany(values, weights); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one.sum, many.sum) || one.count != many.count || one.total != many.total {
			t.Fatalf("batch of %d: sum, count or total differs from %d Adds", k, k)
		}
	}
}

// TestAddManyIsAtomic: a refused update anywhere in the batch adds nothing.
func TestAddManyIsAtomic(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	n := batchSpec.NumParams()
	for _, tc := range []struct {
		name  string
		spoil func(values [][]float32, weights []float64)
		want  string
	}{
		{"NaN in the last update", func(v [][]float32, _ []float64) { v[2][n-1] = float32(math.NaN()) }, string(ReasonNonFinite)},
		{"zero weight", func(_ [][]float32, w []float64) { w[1] = 0 }, string(ReasonBadWeight)},
		{"short update", func(v [][]float32, _ []float64) { v[0] = v[0][:n-1] }, "values, spec needs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values, weights := randUpdates(rng, 3, n)
			a := NewAccumulator(batchSpec)
			if err := a.Add(values[0], 1); err != nil {
				t.Fatal(err)
			}
			before := slices.Clone(a.sum)
			tc.spoil(values, weights)
			err := a.AddMany(values, weights)
			if err == nil || !containsReason(err, tc.want) {
				t.Fatalf("AddMany: %v, want an error with %q", err, tc.want)
			}
			if !slices.Equal(a.sum, before) || a.count != 1 {
				t.Fatal("a refused batch changed the sum")
			}
		})
	}
	if err := NewAccumulator(batchSpec).AddMany(make([][]float32, 2), make([]float64, 1)); err == nil {
		t.Fatal("2 updates with 1 weight accepted")
	}
}

// TestConcurrentAddsBatch: many Adds at once (run with -race) are folded,
// some in batches, into the sum of the same updates up to float64
// rounding of a different order, with every count and weight once.
func TestConcurrentAddsBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	values, weights := randUpdates(rng, 16, batchSpec.NumParams())
	ref := NewAccumulator(batchSpec)
	if err := ref.AddMany(values, weights); err != nil {
		t.Fatal(err)
	}
	a := NewAccumulator(batchSpec)
	var wg sync.WaitGroup
	for i := range values {
		wg.Go(func() {
			if err := a.Add(values[i], weights[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if a.count != ref.count || a.total != ref.total {
		t.Fatalf("count %d total %v, want %d and %v", a.count, a.total, ref.count, ref.total)
	}
	for i := range a.sum {
		if d := math.Abs(a.sum[i] - ref.sum[i]); d > 1e-9*math.Max(1, math.Abs(ref.sum[i])) {
			t.Fatalf("sum[%d] = %v, want %v", i, a.sum[i], ref.sum[i])
		}
	}
	if len(a.queue) != 0 {
		t.Fatalf("%d Adds left in the queue", len(a.queue))
	}
}

// containsReason reports whether err carries the refusal reason want, or
// mentions want.
func containsReason(err error, want string) bool {
	return string(ReasonOf(err)) == want || strings.Contains(err.Error(), want)
}
