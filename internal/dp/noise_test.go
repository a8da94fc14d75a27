package dp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNoiseScale draws n values with a fixed seed for each configured
// standard deviation and checks the sample mean, variance, the share beyond
// one and two standard deviations, and the fourth moment against N(0, σ²).
// Each tolerance is 5 standard errors of its statistic (stated per check);
// with the fixed seed the test is deterministic.
func TestNoiseScale(t *testing.T) {
	const n = 200000
	for _, std := range []float64{0.01, 1, 3.5, 250} {
		g := NewGaussian(rand.NewChaCha8([32]byte{1, 2, 3}))
		v := make([]float64, n)
		if err := AddNoise(v, std, nil, g); err != nil {
			t.Fatal(err)
		}
		var sum, sq, q4 float64
		var beyond1, beyond2 int
		for _, x := range v {
			z := x / std
			sum += z
			sq += z * z
			q4 += z * z * z * z
			if math.Abs(z) > 1 {
				beyond1++
			}
			if math.Abs(z) > 2 {
				beyond2++
			}
		}
		mean, variance, kurt := sum/n, sq/n, q4/n
		p1, p2 := 0.31731050786291415, 0.04550026389635842 // P(|Z| > 1), P(|Z| > 2)
		checks := []struct {
			name      string
			got, want float64
			se        float64 // standard error of the statistic
		}{
			{"mean/σ", mean, 0, 1 / math.Sqrt(n)},
			{"variance/σ²", variance, 1, math.Sqrt(2.0 / n)},
			{"E[Z⁴]", kurt, 3, math.Sqrt(96.0 / n)},
			{"P(|Z|>1)", float64(beyond1) / n, p1, math.Sqrt(p1 * (1 - p1) / n)},
			{"P(|Z|>2)", float64(beyond2) / n, p2, math.Sqrt(p2 * (1 - p2) / n)},
		}
		for _, c := range checks {
			if math.Abs(c.got-c.want) > 5*c.se {
				t.Errorf("σ=%v: %s = %.5f, want %.5f ± %.5f (5 standard errors)", std, c.name, c.got, c.want, 5*c.se)
			}
		}
	}
}

func TestNoiseSkipsSpans(t *testing.T) {
	g := NewGaussian(rand.NewChaCha8([32]byte{}))
	v := make([]float32, 10)
	if err := AddNoise32(v, 1, []Span{{2, 4}, {9, 10}}, g); err != nil {
		t.Fatal(err)
	}
	for i, x := range v {
		skipped := (i >= 2 && i < 4) || i == 9
		if skipped != (x == 0) {
			t.Errorf("element %d = %v (skipped: %v)", i, x, skipped)
		}
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if err := AddNoise(make([]float64, 3), bad, nil, g); err == nil {
			t.Errorf("std %v accepted", bad)
		}
	}
	if err := AddNoise(make([]float64, 3), 1, []Span{{2, 5}}, g); err == nil {
		t.Error("span beyond the vector accepted")
	}
}

func TestNewSourceIsSeeded(t *testing.T) {
	a, err := NewSource()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSource()
	if err != nil {
		t.Fatal(err)
	}
	if a.Uint64() == b.Uint64() && a.Uint64() == b.Uint64() {
		t.Fatal("two sources seeded from crypto/rand gave the same stream")
	}
}

// TestKeyedNoise checks that keyed noise is the same at each coordinate
// whatever the blocks, differs between keys, and has the configured scale
// (tolerance: 5 standard errors, fixed key).
func TestKeyedNoise(t *testing.T) {
	const n = 3*keyedChunk + 123
	k, err := NewKeyedNoiseWithKey([32]byte{7}, 2.5)
	if err != nil {
		t.Fatal(err)
	}
	whole := make([]float64, n)
	k.Add(0, whole)
	for _, block := range []int{977, keyedChunk - 1, keyedChunk, keyedChunk + 1, n} {
		got := make([]float64, n)
		for lo := 0; lo < n; lo += block {
			k.Add(lo, got[lo:min(lo+block, n)])
		}
		for i := range got {
			if got[i] != whole[i] {
				t.Fatalf("blocks of %d: coordinate %d = %v, whole vector gave %v", block, i, got[i], whole[i])
			}
		}
	}
	other, _ := NewKeyedNoiseWithKey([32]byte{8}, 2.5)
	o := make([]float64, 10)
	other.Add(0, o)
	if o[0] == whole[0] && o[1] == whole[1] {
		t.Fatal("two keys gave the same noise")
	}
	big := make([]float64, 200000)
	k.Add(0, big)
	var sum, sq float64
	for _, x := range big {
		sum += x
		sq += x * x
	}
	m, v := sum/float64(len(big)), sq/float64(len(big))/(2.5*2.5)
	if math.Abs(m) > 5*2.5/math.Sqrt(float64(len(big))) || math.Abs(v-1) > 5*math.Sqrt(2/float64(len(big))) {
		t.Fatalf("mean %v, variance/σ² %v", m, v)
	}
	if _, err := NewKeyedNoiseWithKey([32]byte{}, -1); err == nil {
		t.Fatal("negative std accepted")
	}
	if _, err := NewKeyedNoise(1); err != nil {
		t.Fatal(err)
	}
}
