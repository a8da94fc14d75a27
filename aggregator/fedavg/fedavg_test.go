package fedavg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/confed/confed/internal/model"
)

// TestRound runs one FedAvg round end to end: participants' deltas go through
// the pool and Ingestor into the Accumulator, refused ones are left out, and
// the new global model equals global + the example-weighted mean of the
// accepted deltas (computed in float64, rounded once to float32).
func TestRound(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	global, err := model.Init(model.InitSpec{Kind: "logistic_regression", Features: 13, Init: "normal", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec := global.Spec()
	pool, _ := NewBufferPool(spec, 2)
	acc := NewAccumulator(spec)

	type participant struct {
		delta    []float32
		examples int
		poison   bool
	}
	parts := []participant{
		{randFlat(rng, spec.NumParams()), 10, false},
		{randFlat(rng, spec.NumParams()), 250, false},
		{randFlat(rng, spec.NumParams()), 3, true},
		{randFlat(rng, spec.NumParams()), 41, false},
	}
	parts[2].delta[5] = float32(math.NaN())
	for i, p := range parts {
		local, _ := model.FromFlat(spec, p.delta)
		var stream bytes.Buffer
		if _, err := model.WriteSafetensors(&stream, local); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(stream.Bytes())
		buf, err := pool.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		in, err := NewIngestor(spec, buf, int64(stream.Len()), sum[:], Limits{MaxBytes: 1 << 20, MaxNorm: 100})
		if err != nil {
			t.Fatal(err)
		}
		for chunk := range slices.Chunk(stream.Bytes(), 5) {
			if err = in.Write(chunk); err != nil {
				break
			}
		}
		var st *Staged
		if err == nil {
			st, err = in.Finish()
		}
		if p.poison {
			if ReasonOf(err) != ReasonNonFinite {
				t.Fatalf("participant %d: %v, want non_finite", i, err)
			}
		} else if err != nil {
			t.Fatalf("participant %d: %v", i, err)
		} else if err := acc.Add(st.Values, float64(p.examples)); err != nil {
			t.Fatal(err)
		}
		if err := pool.Put(buf); err != nil {
			t.Fatal(err)
		}
	}

	next, err := Apply(global, acc)
	if err != nil {
		t.Fatal(err)
	}
	g := global.Flat()
	for i, got := range next.Flat() {
		var num, den float64
		for _, p := range parts {
			if !p.poison {
				num += float64(p.examples) * float64(p.delta[i])
				den += float64(p.examples)
			}
		}
		if want := float32(float64(g[i]) + num/den); got != want {
			t.Fatalf("parameter %d: got a value differing from the reference", i)
		}
	}
}
