package aggregator

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/confed/confed/aggregator/strategy"
	"github.com/confed/confed/internal/dp"
	"github.com/confed/confed/internal/fixedpoint"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func centralParams(z, c float64) *confedv1.PrivacyParams {
	return &confedv1.PrivacyParams{Mode: dpCentral, NoiseMultiplier: z, ClipNorm: c}
}

func TestNewDPRound(t *testing.T) {
	tests := []struct {
		name    string
		p       *confedv1.PrivacyParams
		stats   bool
		wantNil bool
		wantErr bool
	}{
		{"no privacy", nil, false, true, false},
		{"local mode", &confedv1.PrivacyParams{Mode: "local", NoiseMultiplier: 1, ClipNorm: 1}, false, true, false},
		{"statistics round", centralParams(1, 1), true, true, false},
		{"central", centralParams(1, 1), false, false, false},
		{"zero noise", centralParams(0, 1), false, true, true},
		{"infinite clip", centralParams(1, math.Inf(1)), false, true, true},
		{"bad adaptive", &confedv1.PrivacyParams{Mode: dpCentral, NoiseMultiplier: 1, ClipNorm: 1,
			Adaptive: &confedv1.AdaptiveClipping{TargetQuantile: 2, LearningRate: 0.2, CountNoiseMultiplier: 1}}, false, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := newDPRound(tc.p, nil, tc.stats)
			if (err != nil) != tc.wantErr || (d == nil) != tc.wantNil {
				t.Fatalf("got %v, %v", d, err)
			}
		})
	}
}

// TestDPFoldRingClipsExactly clips quantised updates and checks the
// dequantised norm outside the statistics is at most the clip norm, that
// the statistics coordinates are untouched, and that the result still
// passes the ring sum's range check.
func TestDPFoldRingClipsExactly(t *testing.T) {
	p := fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 4}
	r := rand.New(rand.NewPCG(5, 6))
	frozen := []strategy.Range{{Lo: 0, Hi: 3}}
	for _, tc := range []struct {
		scale, clip float64
		weight      uint64
	}{{0.5, 0.1, 1}, {0.5, 0.1, 1000}, {0.01, 5, 77}, {0.9, 1e-3, 250}} {
		x := make([]float32, 500)
		for i := range x {
			x[i] = float32(r.NormFloat64() * tc.scale)
		}
		q := make([]uint32, len(x))
		if err := fixedpoint.Quantise32(q, x, tc.weight, p, rand.NewChaCha8([32]byte{1})); err != nil {
			t.Fatal(err)
		}
		before := append([]uint32(nil), q...)
		d, err := newDPRound(centralParams(1, tc.clip), frozen, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.foldRing(q, tc.weight, p); err != nil {
			t.Fatal(err)
		}
		deq := make([]float64, len(q))
		for i, v := range q {
			deq[i] = float64(int32(v)) / (p.Scale * float64(tc.weight))
		}
		norm, _ := dp.Norm(deq, []dp.Span{{Lo: 0, Hi: 3}})
		if norm > tc.clip {
			t.Errorf("%+v: dequantised norm after clipping %v, above %v", tc, norm, tc.clip)
		}
		if d.below == 0 && norm < tc.clip*0.99 {
			t.Errorf("%+v: dequantised norm after clipping %v, want just below %v", tc, norm, tc.clip)
		}
		if d.below == 1 && !slices.Equal(q, before) {
			t.Errorf("%+v: an update within the clip norm was changed", tc)
		}
		for i := range 3 {
			if q[i] != before[i] {
				t.Errorf("statistics coordinate %d changed", i)
			}
		}
		sum, err := fixedpoint.NewSum32(len(q), p)
		if err != nil {
			t.Fatal(err)
		}
		if err := sum.Add(q, tc.weight); err != nil {
			t.Errorf("clipped update refused by the ring sum: %v", err)
		}
	}
}

// TestDPNoise folds float updates, then checks the combined delta: the
// statistics are zeroed, reading twice gives the same values, and the
// noise has standard deviation z·C·max w / Σ w (5 standard errors).
func TestDPNoise(t *testing.T) {
	const n, z, c = 100000, 1.5, 0.2
	d, err := newDPRound(centralParams(z, c), []strategy.Range{{Lo: 10, Hi: 20}}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []float64{30, 100, 70} {
		u := make([]float32, n)
		u[0] = 10 // clipped to c
		if err := d.foldFloat(u, w); err != nil {
			t.Fatal(err)
		}
		if u[0] > c || u[0] < c*0.999 {
			t.Fatalf("update clipped to %v, want %v", u[0], c)
		}
	}
	if d.below != 0 || d.n != 3 {
		t.Fatalf("below %d of %d", d.below, d.n)
	}
	rs := &roundState{dp: d}
	src, err := rs.withDP(strategy.SliceDelta(make([]float64, n)))
	if err != nil {
		t.Fatal(err)
	}
	wantStd := z * c * 100 / 200
	if math.Abs(rs.dpApplied.GetNoiseStddev()-wantStd) > 1e-15 || rs.dpApplied.GetClipNorm() != c || rs.dpApplied.GetNoiseMultiplier() != z {
		t.Fatalf("applied %+v, want noise stddev %v", rs.dpApplied, wantStd)
	}
	a, b := make([]float64, n), make([]float64, n)
	if err := src.Delta(0, a); err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < n; lo += 1000 {
		if err := src.Delta(lo, b[lo:lo+1000]); err != nil {
			t.Fatal(err)
		}
	}
	var sq float64
	m := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("coordinate %d read %v, then %v", i, a[i], b[i])
		}
		if i >= 10 && i < 20 {
			if a[i] != 0 {
				t.Fatalf("statistics coordinate %d = %v, want 0", i, a[i])
			}
			continue
		}
		sq += a[i] * a[i]
		m++
	}
	if v := sq / float64(m) / (wantStd * wantStd); math.Abs(v-1) > 5*math.Sqrt(2/float64(m)) {
		t.Fatalf("noise variance / σ² = %v, want 1 ± %v", v, 5*math.Sqrt(2/float64(m)))
	}
}

// TestDPFoldRingRefusesBadSpans: an update that does not fit the
// statistics spans is refused rather than folded unclipped.
func TestDPFoldRingRefusesBadSpans(t *testing.T) {
	p := fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 4}
	d, err := newDPRound(centralParams(1, 0.1), []strategy.Range{{Lo: 0, Hi: 30}}, false)
	if err != nil {
		t.Fatal(err)
	}
	q := []uint32{1 << 20, 1 << 20, 1 << 20} // shorter than the span: norm would be 0
	if err := d.foldRing(q, 1, p); err == nil {
		t.Fatal("an update shorter than the statistics span was folded")
	}
	if d.n != 0 {
		t.Fatalf("a refused update was counted (%d)", d.n)
	}
}
