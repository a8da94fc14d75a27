package dp

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestUpdateNoise(t *testing.T) {
	tests := []struct {
		z, sigmaB float64
		want      float64 // 0: error
	}{
		// Andrew et al. 2021, Section 3: z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2).
		{1, 1, 1 / math.Sqrt(1-0.25)},
		{1.1, 5, 1 / math.Sqrt(1/1.21-1.0/100)},
		{1, 0.5, 0}, // 2σ_b = z: the count spends everything
		{1, 0.4, 0},
		{0, 1, 0},
	}
	for _, tc := range tests {
		got, err := UpdateNoise(tc.z, tc.sigmaB)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("UpdateNoise(%v, %v) = %v, want an error", tc.z, tc.sigmaB, got)
			}
			continue
		}
		if err != nil || !relClose(got, tc.want, 1e-12) {
			t.Errorf("UpdateNoise(%v, %v) = %v, %v; want %v", tc.z, tc.sigmaB, got, err, tc.want)
		}
		// The two mechanisms compose to exactly z in RDP: α/(2z_Δ²) + α/(2(2σ_b)²) = α/(2z²).
		if r := 1/(got*got) + 1/(4*tc.sigmaB*tc.sigmaB); !relClose(r, 1/(tc.z*tc.z), 1e-12) {
			t.Errorf("composition gives z⁻² = %v, want %v", r, 1/(tc.z*tc.z))
		}
	}
}

// TestAdaptiveConverges runs the clip norm update on norms drawn from a
// fixed distribution and checks it settles near the target quantile.
func TestAdaptiveConverges(t *testing.T) {
	a := Adaptive{TargetQuantile: 0.5, LearningRate: 0.2, CountNoise: 1}
	g := NewGaussian(rand.NewChaCha8([32]byte{9}))
	r := rand.New(rand.NewPCG(3, 4))
	c := 0.01
	const m = 100
	for range 400 {
		below := 0
		for range m {
			if math.Exp(r.NormFloat64()) <= c { // lognormal norms, median 1
				below++
			}
		}
		var err error
		if c, err = a.NextNorm(c, below, m, g); err != nil {
			t.Fatal(err)
		}
	}
	if c < 0.7 || c > 1.4 {
		t.Fatalf("clip norm %v after 400 rounds, want near the median 1", c)
	}
	if _, err := a.NextNorm(1, 3, 2, g); err == nil {
		t.Error("more unclipped updates than updates accepted")
	}
	for _, bad := range []Adaptive{{0, 0.2, 1}, {1, 0.2, 1}, {0.5, 0, 1}, {0.5, 0.2, 0}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
