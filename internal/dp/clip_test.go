package dp

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name       string
		v          []float64
		c          float64
		skip       []Span
		wantScaled bool
		wantNorm   float64 // before clipping
	}{
		{"inside the ball is untouched", []float64{0.3, 0.4}, 1, nil, false, 0.5},
		{"exactly on the ball is untouched", []float64{3, 4}, 5, nil, false, 5},
		{"outside is scaled onto the ball", []float64{3, 4}, 1, nil, true, 5},
		{"skipped coordinates are neither counted nor scaled", []float64{3, 4, 1000}, 1, []Span{{2, 3}}, true, 5},
		{"zero vector", []float64{0, 0, 0}, 1, nil, false, 0},
		{"huge values", []float64{1e300, -1e300}, 2, nil, true, math.Inf(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := append([]float64(nil), tc.v...)
			norm, scaled, err := Clip(v, tc.c, tc.skip)
			if tc.name == "huge values" {
				if err == nil {
					t.Fatal("an update with an infinite norm was accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if scaled != tc.wantScaled || math.Abs(norm-tc.wantNorm) > 1e-12 {
				t.Fatalf("scaled=%v norm=%v, want %v %v", scaled, norm, tc.wantScaled, tc.wantNorm)
			}
			after, _ := Norm(v, tc.skip)
			if after > tc.c {
				t.Fatalf("norm after clipping %v > %v", after, tc.c)
			}
			if scaled && after < tc.c*(1-1e-6) {
				t.Fatalf("norm after clipping %v, want just below %v", after, tc.c)
			}
			for _, s := range tc.skip {
				for i := s.Lo; i < s.Hi; i++ {
					if v[i] != tc.v[i] {
						t.Fatalf("skipped element %d changed", i)
					}
				}
			}
			if !scaled {
				for i := range v {
					if v[i] != tc.v[i] {
						t.Fatalf("unclipped element %d changed", i)
					}
				}
			}
		})
	}
}

// TestClipNeverExceeds clips random float32 vectors and checks the bound
// holds exactly after rounding to float32.
func TestClipNeverExceeds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 500 {
		v := make([]float32, 1+r.IntN(2000))
		for i := range v {
			v[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(6)-3)))
		}
		c := math.Pow(10, r.Float64()*4-2)
		if _, _, err := Clip(v, c, nil); err != nil {
			t.Fatal(err)
		}
		if n, _ := Norm(v, nil); n > c {
			t.Fatalf("trial %d: norm %v after clipping to %v", trial, n, c)
		}
	}
	for _, c := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, _, err := Clip([]float32{1}, c, nil); err == nil {
			t.Errorf("clip norm %v accepted", c)
		}
	}
}
