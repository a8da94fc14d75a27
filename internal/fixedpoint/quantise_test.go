package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestStochasticRoundingUnbiased quantises N copies of v/Scale and checks
// that every result is ⌊y⌋ or ⌈y⌉ (y = v·w exactly, Scale being a power of
// two) and that the mean of the N results is y within 5 standard deviations
// of a Bernoulli(frac(y)) mean: 5·√(f(1−f)/N). With N = 200000 that is at most
// 0.0056 quanta (f = 0.5); for 0.3 it is 0.0051. The seed is fixed, so the
// test is deterministic; 5σ makes it robust to a change of seed as well.
func TestStochasticRoundingUnbiased(t *testing.T) {
	const n = 200_000
	tests := []struct {
		bits int
		v    float64 // in quanta (units of 1/Scale)
		w    uint64
	}{
		{32, 0.3, 1}, {32, -0.3, 1}, {32, 2.7, 1}, {32, -2.5, 1}, {32, 0.001, 1},
		{32, 0.3, 3}, {32, -1.7, 7},
		{64, 0.3, 1}, {64, -0.3, 1}, {64, 1e6 + 0.25, 1}, {64, -0.6, 5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-bit/%g×%d", tt.bits, tt.v, tt.w), func(t *testing.T) {
			p := Params{Bits: tt.bits, Clip: 32, Scale: 1 << 16, MaxWeight: 10, MaxParticipants: 1}
			x := make([]float32, n)
			xv := float32(tt.v / p.Scale)
			for i := range x {
				x[i] = xv
			}
			y := float64(xv) * p.Scale * float64(tt.w) // exact: Scale is a power of two, w small
			q := quantiseAny(t, x, tt.w, p, seeded(uint64(tt.bits), math.Float64bits(tt.v), tt.w))
			lo, hi := math.Floor(y), math.Ceil(y)
			var sum float64
			for i, v := range q {
				s := float64(signed64(v))
				if tt.bits == 32 {
					s = float64(signed32(uint32(v)))
				}
				if s != lo && s != hi {
					t.Fatalf("q[%d] = %g, want %g or %g", i, s, lo, hi)
				}
				sum += s
			}
			f := y - lo
			tol := 5 * math.Sqrt(f*(1-f)/n)
			if got := sum / n; math.Abs(got-y) > tol {
				t.Fatalf("mean of %d roundings of %g = %g, off by %g > %g", n, y, got, got-y, tol)
			} else {
				t.Logf("mean of %d roundings of %.6f = %.6f (off by %+.2g; tolerance %.2g)", n, y, got, got-y, tol)
			}
		})
	}
}

// TestRoundingRule pins the rounding rule with caller-supplied streams: a
// draw of 0 rounds every non-integer away from zero, a draw of 2^64−1 rounds
// it toward zero, and integers never move. A fraction below 2^-63 (the
// resolution of the comparison) never rounds away from zero.
func TestRoundingRule(t *testing.T) {
	p := Params{Bits: 32, Clip: 100, Scale: 4, MaxWeight: 3, MaxParticipants: 1}
	x := []float32{0.1, -0.1, 0.25, -0.25, 1.3, -1.3, 0, 7, 1e-15, -1e-15, 1e-30, -1e-30}
	y := []float64{0.4, -0.4, 1, -1, 5.2, -5.2, 0, 28, 4e-15, -4e-15, 0, 0} // x·Scale; 4e-30 < 2^-63 counts as 0
	away := func(v float64) float64 { return math.Copysign(math.Ceil(math.Abs(v)), v) }
	for _, tt := range []struct {
		src  constSource
		name string
		want func(float64) float64
	}{{0, "away from zero", away}, {math.MaxUint64, "toward zero", math.Trunc}} {
		t.Run(tt.name, func(t *testing.T) {
			q := make([]uint32, len(x))
			if err := Quantise32(q, x, 1, p, tt.src); err != nil {
				t.Fatal(err)
			}
			for i := range q {
				if got, want := signed32(q[i]), int64(tt.want(y[i])); got != want {
					t.Errorf("x = %g: q = %d, want %d", x[i], got, want)
				}
			}
		})
	}
}

// TestTwosComplement checks that negative values are stored as 2^Bits + q
// and read back correctly, including through intermediate sums that wrap.
func TestTwosComplement(t *testing.T) {
	p32 := Params{Bits: 32, Clip: 4, Scale: 1, MaxWeight: 1, MaxParticipants: 8}
	q := make([]uint32, 3)
	if err := Quantise32(q, []float32{-1, -3, 4}, 1, p32, constSource(0)); err != nil {
		t.Fatal(err)
	}
	if want := []uint32{0xFFFFFFFF, 0xFFFFFFFD, 4}; !slices.Equal(q, want) {
		t.Fatalf("Quantise32(-1, -3, 4) = %#x, want %#x", q, want)
	}
	if got, want := Encode32(q[:1]), []byte{0xFF, 0xFF, 0xFF, 0xFF}; !slices.Equal(got, want) {
		t.Fatalf("Encode32(-1) = % x, want % x", got, want)
	}
	q64 := make([]uint64, 2)
	p64 := p32
	p64.Bits = 64
	if err := Quantise64(q64, []float32{-1, -4}, 1, p64, constSource(0)); err != nil {
		t.Fatal(err)
	}
	if want := []uint64{math.MaxUint64, math.MaxUint64 - 3}; !slices.Equal(q64, want) {
		t.Fatalf("Quantise64(-1, -4) = %#x, want %#x", q64, want)
	}

	// Seven updates of −4 then one of +4: the unsigned running sum wraps on
	// the first add; the signed total −24 comes out.
	for _, bits := range []int{32, 64} {
		p := p32
		p.Bits = bits
		s := newAnySum(t, 1, p)
		for k := range 8 {
			v := float32(-4)
			if k == 7 {
				v = 4
			}
			if err := s.add(quantiseAny(t, []float32{v}, 1, p, constSource(0)), 1); err != nil {
				t.Fatal(err)
			}
		}
		if got := s.signedRaw()[0]; got != -24 {
			t.Errorf("%d-bit: signed sum = %d, want -24", bits, got)
		}
		m := make([]float64, 1)
		if err := s.mean64(m); err != nil || m[0] != -3 {
			t.Errorf("%d-bit: mean = %v, %v; want -3", bits, m[0], err)
		}
	}
}

// TestClipping checks that values beyond ±Clip quantise to exactly ±Clip·w·
// Scale (an integer here, so no randomness is involved), that values inside
// are not clipped, and that weighting happens after clipping.
func TestClipping(t *testing.T) {
	for _, bits := range []int{32, 64} {
		p := Params{Bits: bits, Clip: 0.5, Scale: 1 << 10, MaxWeight: 7, MaxParticipants: 4}
		x := []float32{0.5, -0.5, 0.75, -0.75, 3, -1e30, math.MaxFloat32, -math.MaxFloat32, 0.25, -0.125}
		for _, w := range []uint64{1, 3, 7} {
			t.Run(fmt.Sprintf("%d-bit/w=%d", bits, w), func(t *testing.T) {
				c := int64(512 * w) // Clip·Scale·w
				want := []int64{c, -c, c, -c, c, -c, c, -c, 256 * int64(w), -128 * int64(w)}
				q := quantiseAny(t, x, w, p, seeded(3, w))
				for i, v := range q {
					got := signed64(v)
					if bits == 32 {
						got = signed32(uint32(v))
					}
					if got != want[i] {
						t.Errorf("x = %g: q = %d, want %d", x[i], got, want[i])
					}
				}
				if m, _ := p.MaxAbs(w); m != uint64(c) {
					t.Errorf("MaxAbs(%d) = %d, want %d", w, m, c)
				}
			})
		}
	}
}

func TestQuantiseRefusesNonFinite(t *testing.T) {
	for _, bits := range []int{32, 64} {
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for _, at := range []int{0, 5, 257, 299} { // 257: past the first batch of random words
				t.Run(fmt.Sprintf("%d-bit/%v@%d", bits, bad, at), func(t *testing.T) {
					p := valid32
					p.Bits = bits
					x := make([]float32, 300)
					x[at] = bad
					var err error
					if bits == 32 {
						err = Quantise32(make([]uint32, len(x)), x, 1, p, seeded(1))
					} else {
						err = Quantise64(make([]uint64, len(x)), x, 1, p, seeded(1))
					}
					var ee *ElementError
					if !errors.Is(err, ErrNonFinite) || !errors.As(err, &ee) || ee.Index != at {
						t.Fatalf("Quantise(%v at %d) = %v, want an ElementError at %d", bad, at, err, at)
					}
					want := fmt.Sprintf("element %d is %v", at, map[bool]string{true: "NaN", false: fmt.Sprintf("%+v", bad)}[bad != bad])
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				})
			}
		}
	}
}

func TestQuantiseRefusals(t *testing.T) {
	x := make([]float32, 4)
	p64 := valid32
	p64.Bits = 64
	wrap := valid32
	wrap.MaxParticipants = 1 << 20
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"64-bit params to Quantise32", Quantise32(make([]uint32, 4), x, 1, p64, seeded(1)), "Bits = 64, want 32"},
		{"32-bit params to Quantise64", Quantise64(make([]uint64, 4), x, 1, valid32, seeded(1)), "Bits = 32, want 64"},
		{"params that could wrap", Quantise32(make([]uint32, 4), x, 1, wrap, seeded(1)), "could wrap"},
		{"dst too short", Quantise32(make([]uint32, 3), x, 1, valid32, seeded(1)), "dst has 3 elements, x has 4"},
		{"weight 0", Quantise32(make([]uint32, 4), x, 0, valid32, seeded(1)), "weight 0"},
		{"weight above MaxWeight", Quantise32(make([]uint32, 4), x, 101, valid32, seeded(1)), "weight 101, want 1 to MaxWeight = 100"},
		{"nil source", Quantise32(make([]uint32, 4), x, 1, valid32, nil), "nil random source"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, tt.err, tt.want)
		}
	}
	if err := Quantise32(nil, nil, 1, valid32, seeded(1)); err != nil {
		t.Errorf("empty update: %v", err)
	}
}

// TestQuantiseInPieces checks that one random word is drawn per element:
// quantising a vector in pieces with one source equals one call, and a
// caller-supplied stream gives the same result as the ChaCha8 it wraps.
func TestQuantiseInPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randDelta(rng, 1000, 1)
	whole := make([]uint32, len(x))
	if err := Quantise32(whole, x, 3, valid32, seeded(9)); err != nil {
		t.Fatal(err)
	}
	pieces := make([]uint32, len(x))
	src := seeded(9)
	for _, cut := range [][2]int{{0, 1}, {1, 256}, {256, 257}, {257, 700}, {700, 1000}} {
		if err := Quantise32(pieces[cut[0]:cut[1]], x[cut[0]:cut[1]], 3, valid32, src); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(whole, pieces) {
		t.Fatal("quantising in pieces differs from one call")
	}
	wrapped := make([]uint32, len(x))
	if err := Quantise32(wrapped, x, 3, valid32, struct{ rand.Source }{seeded(9)}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(whole, wrapped) {
		t.Fatal("a caller-supplied stream differs from the ChaCha8 it wraps")
	}
}

// TestRoundingSymmetric: with the same draws, −x quantises to exactly −q.
func TestRoundingSymmetric(t *testing.T) {
	x := randDelta(rand.New(rand.NewPCG(4, 4)), 2000, 1)
	neg := make([]float32, len(x))
	for i, v := range x {
		neg[i] = -v
	}
	for _, bits := range []int{32, 64} {
		p := valid32
		p.Bits = bits
		q := quantiseAny(t, x, 9, p, seeded(6))
		qn := quantiseAny(t, neg, 9, p, seeded(6))
		for i := range q {
			if sum := q[i] + qn[i]; sum != 0 && !(bits == 32 && uint32(sum) == 0) {
				t.Fatalf("%d-bit: x = %g quantises to %#x, −x to %#x", bits, x[i], q[i], qn[i])
			}
		}
	}
}
