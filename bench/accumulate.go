package bench

import (
	"testing"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/internal/model"
)

// accumulateWeight is the weight (example count) of every Add.
const accumulateWeight = 37

// AddNaive is the naive FedAvg accumulation: acc[i] += w × float64(x[i]),
// one element at a time in plain Go, with no validation. It is the baseline
// the accumulator (and any SIMD kernel of it) is compared with. len(x) must
// be at least len(acc).
func AddNaive(acc []float64, x []float32, w float64) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] += w * float64(x[i])
	}
}

// AccumulateNaive measures AddNaive on n values. Bytes per op: 4n (the
// float32 update folded in); memory traffic: 20n (read x 4n, read and write
// the float64 sum 8n + 8n).
func AccumulateNaive(b *testing.B, n int) {
	x, acc := make([]float32, n), make([]float64, n)
	Fill(x, 4)
	AddNaive(acc, x, accumulateWeight) // fault in the sum's pages before timing
	b.SetBytes(4 * int64(n))
	b.ReportAllocs()
	for b.Loop() {
		AddNaive(acc, x, accumulateWeight)
	}
	if acc[0] == 0 && x[0] != 0 {
		Fatal(b, "AddNaive added nothing")
	}
	reportMemBandwidth(b, 20*int64(n))
}

// AccumulateFedAvg measures fedavg.Accumulator.Add on an n-parameter update:
// a pass checking that every value is finite, then the float64 weighted sum
// under the accumulator's mutex. Bytes per op: 4n; memory traffic: 24n (the
// naive 20n plus the checking pass's read of x).
func AccumulateFedAvg(b *testing.B, n int) {
	x := make([]float32, n)
	Fill(x, 4)
	acc := fedavg.NewAccumulator(model.Spec{{Name: "weight", Shape: []int{n}}})
	if err := acc.Add(x, accumulateWeight); err != nil { // also faults in the sum's pages
		Fatal(b, "Add: %v", err)
	}
	b.SetBytes(4 * int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if err := acc.Add(x, accumulateWeight); err != nil {
			Fatal(b, "Add: %v", err)
		}
	}
	if got, want := acc.Count(), b.N+1; got != want {
		Fatal(b, "accumulator counted %d updates, want %d", got, want)
	}
	reportMemBandwidth(b, 24*int64(n))
}
