package fixedpoint_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/confed/confed/internal/fixedpoint"
)

// Three participants quantise their deltas, weighted by example count; the
// aggregator sums them in the ring and dequantises the weighted mean.
func Example() {
	p := fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 8}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	deltas := [][]float32{{0.5, -0.25, 3}, {0.1, 0.2, -0.3}, {-0.4, 0, 0.05}}
	examples := []uint64{200, 100, 700}

	sum, err := fixedpoint.NewSum32(3, p)
	if err != nil {
		panic(err)
	}
	for i, x := range deltas {
		// Participant i (seed from crypto/rand in production).
		q := make([]uint32, len(x))
		if err := fixedpoint.Quantise32(q, x, examples[i], p, rand.NewChaCha8([32]byte{byte(i)})); err != nil {
			panic(err)
		}
		wire := fixedpoint.Encode32(q) // the data of a U32 safetensors tensor

		// Aggregator.
		got := make([]uint32, len(x))
		if err := fixedpoint.Decode32(got, wire); err != nil {
			panic(err)
		}
		if err := sum.Add(got, examples[i]); err != nil {
			panic(err)
		}
	}
	mean := make([]float32, 3)
	if err := sum.Mean(mean); err != nil {
		panic(err)
	}
	// Exact weighted means of the clipped deltas: -0.17, -0.03, 0.205.
	fmt.Printf("%d updates, %d examples: %.4f\n", sum.Count(), sum.TotalWeight(), mean)
	// Output: 3 updates, 1000 examples: [-0.1700 -0.0300 0.2050]
}
