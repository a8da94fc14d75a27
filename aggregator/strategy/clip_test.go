package strategy

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func norm32(v []float32, skip func(int) bool) float64 {
	s := 0.0
	for i, x := range v {
		if skip == nil || !skip(i) {
			s += float64(x) * float64(x)
		}
	}
	return math.Sqrt(s)
}

func TestClipNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	for trial := range 200 {
		up := randUpdates(rng, 1, 1+rng.IntN(300), math.Pow(10, float64(rng.IntN(9)-4)))[0]
		orig := slices.Clone(up)
		before := norm32(up, nil)
		bound := before * (0.01 + 1.5*rng.Float64())
		scaled, norm := ClipNorm(up, bound)
		if math.Abs(norm-before) > 1e-12*before {
			t.Fatalf("trial %d: norm %v, want %v", trial, norm, before)
		}
		after := norm32(up, nil)
		if scaled != (before > bound) {
			t.Fatalf("trial %d: scaled = %v with norm %v and bound %v", trial, scaled, before, bound)
		}
		if !scaled {
			if !slices.Equal(up, orig) {
				t.Fatalf("trial %d: unscaled update changed", trial)
			}
			continue
		}
		if after > bound || after < bound*(1-1.0/(1<<21)) {
			t.Fatalf("trial %d: clipped norm %v, bound %v", trial, after, bound)
		}
		// The direction is kept: each value scaled by the same factor.
		f := float64(up[0]) / float64(orig[0])
		for i := range up {
			if orig[i] != 0 && math.Abs(float64(up[i])/float64(orig[i])-f) > 1e-6 {
				t.Fatalf("trial %d: value %d scaled by %v, value 0 by %v", trial, i, float64(up[i])/float64(orig[i]), f)
			}
		}
	}
	up := []float32{3, 4}
	for _, bound := range []float64{0, -1, math.NaN()} {
		if scaled, norm := ClipNorm(up, bound); scaled || norm != 5 || !slices.Equal(up, []float32{3, 4}) {
			t.Errorf("bound %v: scaled %v norm %v up %v", bound, scaled, norm, up)
		}
	}
	if scaled, norm := ClipNorm(nil, 1); scaled || norm != 0 {
		t.Errorf("empty update: %v %v", scaled, norm)
	}
}

func TestClipNormExcept(t *testing.T) {
	up := []float32{100, 3, 100, 4, 100}
	except := []Range{{0, 1}, {2, 3}, {4, 5}}
	scaled, norm, err := ClipNormExcept(up, 1, except)
	if err != nil || !scaled || norm != 5 {
		t.Fatalf("ClipNormExcept: %v %v %v", scaled, norm, err)
	}
	if up[0] != 100 || up[2] != 100 || up[4] != 100 {
		t.Fatalf("excluded coordinates changed: %v", up)
	}
	if got := norm32(up, func(i int) bool { return i%2 == 0 }); got > 1 || got < 0.999999 {
		t.Fatalf("clipped norm %v", got)
	}
	if _, _, err := ClipNormExcept(up, 1, []Range{{4, 6}}); err == nil {
		t.Error("range beyond the update accepted")
	}
}
