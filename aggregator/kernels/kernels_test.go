package kernels_test

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/confed/confed/aggregator/kernels"
)

// lengths cover the empty slice, the scalar tail alone, one element either
// side of every vector width (8 float32, 4 float64) and of the unrolled
// loops (16 and 32 elements), a long tail after whole blocks (48, 63) and
// long slices with a tail.
var lengths = []int{0, 1, 7, 15, 16, 17, 31, 33, 48, 63, 1000, 4097}

// offsets are slice starts: 0 is the allocation's alignment, 1..3 are not
// aligned to the vector width.
var offsets = []int{0, 1, 2, 3}

// guard is the number of sentinel elements kept either side of a slice under
// test, to catch writes outside it.
const guard = 40

// path is one code path of the package.
type path struct {
	name    string
	generic bool
}

// paths returns the code paths this machine can run: the assembly (if the
// CPU has AVX2 and FMA) and the pure-Go kernels.
func paths() []path {
	ps := []path{{"generic", true}}
	if kernels.HasSIMD() {
		ps = append([]path{{"simd", false}}, ps...)
	}
	return ps
}

// forEachPath runs f once per code path, with that path forced.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, p := range paths() {
		t.Run(p.name, func(t *testing.T) {
			kernels.SetGenericForTesting(p.generic)
			t.Cleanup(func() { kernels.SetGenericForTesting(false) })
			want := "generic"
			if !p.generic {
				want = "avx2-fma"
			}
			if got := kernels.Implementation(); got != want {
				t.Fatalf("Implementation() = %q, want %q", got, want)
			}
			f(t)
		})
	}
}

// window returns buf[guard+off : guard+off+n], with the rest of buf the
// sentinel value.
func window[T any](n, off int, sentinel T) (buf, w []T) {
	buf = make([]T, n+off+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	return buf, buf[guard+off : guard+off+n]
}

// checkGuard fails if anything outside buf[guard+off : guard+off+n] is not
// the sentinel.
func checkGuard[T comparable](t *testing.T, buf []T, n, off int, sentinel T) {
	t.Helper()
	for i, v := range buf {
		if (i < guard+off || i >= guard+off+n) && v != sentinel {
			t.Fatalf("element %d outside the %d-element slice at offset %d was overwritten: %v", i-guard-off, n, off, v)
		}
	}
}

// randF32 returns a float32 with random sign, 24-bit mantissa and an
// exponent in [-e, e], so that sums round in every way.
func randF32(r *rand.Rand, e int) float32 {
	m := float64(1<<23|r.Uint32N(1<<23)) / (1 << 23)
	v := float32(math.Ldexp(m, r.IntN(2*e+1)-e))
	if r.IntN(2) == 0 {
		v = -v
	}
	return v
}

func randF64(r *rand.Rand, e int) float64 {
	m := float64(1<<52|r.Uint64N(1<<52)) / (1 << 52)
	v := math.Ldexp(m, r.IntN(2*e+1)-e)
	if r.IntN(2) == 0 {
		v = -v
	}
	return v
}

// exactFMA returns w·x + a computed exactly.
func exactFMA(w, x, a float64) *big.Float {
	p := new(big.Float).SetPrec(2000).SetFloat64(w)
	p.Mul(p, new(big.Float).SetPrec(2000).SetFloat64(x))
	return p.Add(p, new(big.Float).SetPrec(2000).SetFloat64(a))
}

// fmaCase returns the inputs of a multiply-add test: accumulator values of
// every sign and magnitude, a quarter of them cancelling the product almost
// exactly, which is where a second rounding shows most.
func fmaCase(r *rand.Rand, n int) (acc []float64, x []float32, w float64) {
	w = float64(randF32(r, 10))
	acc, x = make([]float64, n), make([]float32, n)
	for i := range n {
		x[i] = randF32(r, 20)
		switch r.IntN(4) {
		case 0:
			acc[i] = -w*float64(x[i]) + randF64(r, 40)*math.Abs(w*float64(x[i]))*0x1p-30
		case 1:
			acc[i] = 0
		default:
			acc[i] = randF64(r, 30)
		}
	}
	return acc, x, w
}

func TestAddScaledF32ToF64(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, n := range lengths {
			for _, off := range offsets {
				acc0, x0, w := fmaCase(r, n)
				bufA, acc := window(n, off, math.Pi)
				bufX, x := window(n, (off+1)%4, float32(math.E))
				copy(acc, acc0)
				copy(x, x0)
				kernels.AddScaledF32ToF64(acc, x, w)
				checkGuard(t, bufA, n, off, math.Pi)
				checkGuard(t, bufX, n, (off+1)%4, float32(math.E))
				for i := range n {
					// One rounding of the exact w·x + acc, bit for bit.
					want, _ := exactFMA(w, float64(x0[i]), acc0[i]).Float64()
					if math.Float64bits(acc[i]) != math.Float64bits(want) {
						t.Fatalf("n=%d off=%d: acc[%d] = %v + %v·%v = %v, want %v (exactly rounded)", n, off, i, acc0[i], w, x0[i], acc[i], want)
					}
					// And within one rounding of the plain float64 loop.
					plain := acc0[i] + w*float64(x0[i])
					if d := math.Abs(acc[i] - plain); d > 0x1p-52*math.Max(math.Abs(plain), math.Abs(w*float64(x0[i]))) {
						t.Fatalf("n=%d off=%d: acc[%d] = %v, plain loop %v", n, off, i, acc[i], plain)
					}
				}
			}
		}
	})
}

func TestAddScaledF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, n := range lengths {
			for _, off := range offsets {
				acc64, x0, w64 := fmaCase(r, n)
				w := float32(w64)
				acc0 := make([]float32, n)
				for i, a := range acc64 {
					acc0[i] = float32(a)
				}
				bufA, acc := window(n, off, float32(math.Pi))
				bufX, x := window(n, (off+3)%4, float32(math.E))
				copy(acc, acc0)
				copy(x, x0)
				kernels.AddScaledF32(acc, x, w)
				checkGuard(t, bufA, n, off, float32(math.Pi))
				checkGuard(t, bufX, n, (off+3)%4, float32(math.E))
				for i := range n {
					want, _ := exactFMA(float64(w), float64(x0[i]), float64(acc0[i])).Float32()
					if math.Float32bits(acc[i]) != math.Float32bits(want) {
						t.Fatalf("n=%d off=%d: acc[%d] = %v + %v·%v = %v, want %v (exactly rounded)", n, off, i, acc0[i], w, x0[i], acc[i], want)
					}
				}
			}
		}
	})
}

// TestFMA32DoubleRounding checks the pure-Go float32 FMA, and the kernel on
// every path, on sums that land exactly halfway between two float32 values
// once rounded to float64 although the exact sum is not halfway: rounding
// the float64 sum again to float32 gives the wrong neighbour.
func TestFMA32DoubleRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var ws, xs, as []float32
	for len(ws) < 2000 {
		// w·x = 2⁻²⁴·(1 ± δ·2⁻⁴⁷) with 0 < δ < 2¹⁸: 1 + w·x rounds in
		// float64 to 1 + 2⁻²⁴, the midpoint between 1 and 1 + 2⁻²³.
		m1 := uint64(1<<23 | r.Uint32N(1<<23))
		above := r.IntN(2) == 0
		k := (uint64(1)<<47 + m1 - 1) / m1 // ceil: m1·k ≥ 2⁴⁷
		if !above {
			k = (uint64(1) << 47) / m1 // floor: m1·k ≤ 2⁴⁷
		}
		d := int64(m1*k) - 1<<47
		if d == 0 || d >= 1<<18 || d <= -(1<<18) || k >= 1<<24 {
			continue
		}
		w := float32(math.Ldexp(float64(m1), -23))
		x := float32(math.Ldexp(float64(k), -48))
		a := float32(1)
		if r.IntN(2) == 0 { // the same mirrored below zero
			w, a = -w, -a
		}
		ws, xs, as = append(ws, w), append(xs, x), append(as, a)
	}
	wrong := 0
	for i := range ws {
		want, _ := exactFMA(float64(ws[i]), float64(xs[i]), float64(as[i])).Float32()
		if got := kernels.FMA32(ws[i], xs[i], as[i]); got != want {
			t.Fatalf("fma32(%v, %v, %v) = %v, want %v", ws[i], xs[i], as[i], got, want)
		}
		if float32(float64(ws[i])*float64(xs[i])+float64(as[i])) != want {
			wrong++
		}
	}
	if wrong == 0 {
		t.Fatal("no case rounds wrongly through float64: the test has no teeth")
	}
	// The kernel takes one weight, so check it on the cases one at a time.
	forEachPath(t, func(t *testing.T) {
		for i := range ws {
			acc := []float32{as[i]}
			kernels.AddScaledF32(acc, xs[i:i+1], ws[i])
			if want, _ := exactFMA(float64(ws[i]), float64(xs[i]), float64(as[i])).Float32(); acc[0] != want {
				t.Fatalf("AddScaledF32([%v], [%v], %v) = %v, want %v", as[i], xs[i], ws[i], acc[0], want)
			}
		}
	})
	t.Logf("%d of %d cases round wrongly through a float64 sum; fma32 gets all right", wrong, len(ws))
}

// TestAddScaledF32Special checks IEEE special values: infinities and NaN
// propagate, signed zeros and subnormals round as FMA does.
func TestAddScaledF32Special(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	vals := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0x1p-149, -0x1p-149, 0x1p-126, math.MaxFloat32, -math.MaxFloat32, inf, -inf, nan}
	var accs, xs []float32
	for _, a := range vals {
		for _, x := range vals {
			accs, xs = append(accs, a), append(xs, x)
		}
	}
	for _, w := range []float32{0, 1, -1, 0.5, 0x1p-100, 3e38, inf} {
		forEachPath(t, func(t *testing.T) {
			acc := slices.Clone(accs)
			kernels.AddScaledF32(acc, xs, w)
			for i := range acc {
				want := float32(math.FMA(float64(w), float64(xs[i]), float64(accs[i]))) // exact here: no double rounding for these values
				if math.IsNaN(float64(want)) {
					if !math.IsNaN(float64(acc[i])) {
						t.Errorf("w=%v: %v + w·%v = %v, want NaN", w, accs[i], xs[i], acc[i])
					}
					continue
				}
				if math.Float32bits(acc[i]) != math.Float32bits(want) {
					t.Errorf("w=%v: %v + w·%v = %v, want %v", w, accs[i], xs[i], acc[i], want)
				}
			}
		})
	}
}

// TestFloatPathsIdentical runs both paths on the same long inputs and
// compares the bits.
func TestFloatPathsIdentical(t *testing.T) {
	if !kernels.HasSIMD() {
		t.Skip("no assembly on this machine or build")
	}
	r := rand.New(rand.NewPCG(7, 8))
	acc0, x, w := fmaCase(r, 100_003)
	acc32 := make([]float32, len(acc0))
	for i, a := range acc0 {
		acc32[i] = float32(a)
	}
	run := func(generic bool) ([]float64, []float32, float64) {
		kernels.SetGenericForTesting(generic)
		defer kernels.SetGenericForTesting(false)
		a64, a32 := slices.Clone(acc0), slices.Clone(acc32)
		kernels.AddScaledF32ToF64(a64, x, w)
		kernels.AddScaledF32(a32, x, float32(w))
		s, _ := kernels.CheckF32(x)
		return a64, a32, s
	}
	s64, s32, ss := run(false)
	g64, g32, gs := run(true)
	for i := range s64 {
		if math.Float64bits(s64[i]) != math.Float64bits(g64[i]) || math.Float32bits(s32[i]) != math.Float32bits(g32[i]) {
			t.Fatalf("element %d: simd %v %v, generic %v %v", i, s64[i], s32[i], g64[i], g32[i])
		}
	}
	if math.Float64bits(ss) != math.Float64bits(gs) {
		t.Fatalf("CheckF32 sum: simd %v, generic %v", ss, gs)
	}
}

func TestAddU32(t *testing.T) {
	testRing(t, 32, func(r *rand.Rand) uint32 { return r.Uint32() }, kernels.AddU32)
}

func TestAddU64(t *testing.T) {
	testRing(t, 64, func(r *rand.Rand) uint64 { return r.Uint64() }, kernels.AddU64)
}

// testRing checks a ring kernel against big-integer arithmetic modulo
// 2^bits on random values (a quarter of them near the top, to wrap), and the
// two paths against each other bit for bit.
func testRing[T uint32 | uint64](t *testing.T, bits uint, rnd func(*rand.Rand) T, add func(acc, x []T)) {
	mod := new(big.Int).Lsh(big.NewInt(1), bits)
	results := map[string][][]T{}
	for _, p := range paths() {
		kernels.SetGenericForTesting(p.generic)
		r := rand.New(rand.NewPCG(9, 10)) // the same inputs for every path
		for _, n := range lengths {
			for _, off := range offsets {
				acc0, x0 := make([]T, n), make([]T, n)
				for i := range n {
					acc0[i], x0[i] = rnd(r), rnd(r)
					if r.IntN(4) == 0 {
						acc0[i] |= T(1) << (bits - 1)
						x0[i] |= T(1) << (bits - 1)
					}
				}
				bufA, acc := window(n, off, T(0x0dead0be))
				bufX, x := window(n, (off+2)%4, T(0x0feed0fa))
				copy(acc, acc0)
				copy(x, x0)
				add(acc, x)
				checkGuard(t, bufA, n, off, T(0x0dead0be))
				checkGuard(t, bufX, n, (off+2)%4, T(0x0feed0fa))
				for i := range n {
					want := new(big.Int).SetUint64(uint64(acc0[i]))
					want.Add(want, new(big.Int).SetUint64(uint64(x0[i])))
					want.Mod(want, mod)
					if want.Uint64() != uint64(acc[i]) {
						t.Fatalf("%s: n=%d off=%d: %d + %d = %d, want %d (mod 2^%d)", p.name, n, off, acc0[i], x0[i], acc[i], want, bits)
					}
				}
				results[p.name] = append(results[p.name], slices.Clone(acc))
			}
		}
	}
	kernels.SetGenericForTesting(false)
	if s, ok := results["simd"]; ok {
		for i, g := range results["generic"] {
			if !slices.Equal(s[i], g) {
				t.Fatalf("case %d: simd and generic results differ", i)
			}
		}
	}
}

// exactSumSquares returns Σ x[i]² computed exactly, rounded to float64.
func exactSumSquares(x []float32) float64 {
	s := new(big.Float).SetPrec(2000)
	for _, v := range x {
		f := new(big.Float).SetPrec(2000).SetFloat64(float64(v))
		s.Add(s, f.Mul(f, f))
	}
	r, _ := s.Float64()
	return r
}

// checkSumTolerance is the relative error CheckF32's sum may have: a sum of
// n non-negative terms, however it is ordered, is within (n−1)·2⁻⁵³ (to first
// order) of the exact sum. The tests allow n·2⁻⁵³.
func checkSumTolerance(n int) float64 { return float64(max(n, 1)) * 0x1p-53 }

func TestCheckF32Finite(t *testing.T) {
	sums := map[string][]float64{}
	for _, p := range paths() {
		kernels.SetGenericForTesting(p.generic)
		r := rand.New(rand.NewPCG(11, 12))
		for _, n := range lengths {
			for _, off := range offsets {
				_, x := window(n, off, float32(math.NaN())) // reading past either end finds a NaN
				for i := range x {
					x[i] = randF32(r, 30)
					if i%97 == 5 { // the extremes of the finite range
						x[i] = []float32{math.MaxFloat32, -math.MaxFloat32, 0x1p-149, 0}[i%4]
					}
				}
				sum, bad := kernels.CheckF32(x)
				if bad != -1 {
					t.Fatalf("%s: n=%d off=%d: firstNonFinite = %d in finite data", p.name, n, off, bad)
				}
				want := exactSumSquares(x)
				if d := math.Abs(sum - want); d > checkSumTolerance(n)*want {
					t.Fatalf("%s: n=%d off=%d: sum of squares %v, want %v (relative error %.3g > %.3g)", p.name, n, off, sum, want, d/want, checkSumTolerance(n))
				}
				sums[p.name] = append(sums[p.name], sum)
			}
		}
	}
	kernels.SetGenericForTesting(false)
	if s, ok := sums["simd"]; ok {
		for i, g := range sums["generic"] {
			if math.Float64bits(s[i]) != math.Float64bits(g) {
				t.Fatalf("case %d: sum of squares: simd %v, generic %v", i, s[i], g)
			}
		}
	}
}

// nonFinite are the values CheckF32 must find: both infinities, the usual
// NaN, a negative NaN, a signalling NaN and NaNs with the smallest and
// largest payloads.
var nonFinite = []float32{
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	math.Float32frombits(0xffc00000), math.Float32frombits(0x7f800001),
	math.Float32frombits(0x7fffffff), math.Float32frombits(0xff800001),
}

func TestCheckF32FindsFirstNonFinite(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, n := range lengths {
			if n == 0 {
				continue
			}
			for _, off := range offsets {
				_, x := window(n, off, float32(math.NaN())) // reading past either end finds a NaN
				for i := range x {
					x[i] = randF32(r, 20)
				}
				// Every position for short slices; for long ones the ends,
				// the block edges and the tail, and random positions.
				var pos []int
				if n <= 100 {
					for i := range n {
						pos = append(pos, i)
					}
				} else {
					pos = []int{0, 1, 31, 32, 33, 63, 64, n / 2, n - 33, n - 32, n - 31, n - 2, n - 1}
					for range 20 {
						pos = append(pos, r.IntN(n))
					}
				}
				for _, at := range pos {
					v := nonFinite[r.IntN(len(nonFinite))]
					keep := x[at]
					x[at] = v
					// A second non-finite value after the first must not
					// change the answer.
					later := -1
					if at+1 < n && r.IntN(2) == 0 {
						later = at + 1 + r.IntN(n-at-1)
						x[later] = nonFinite[r.IntN(len(nonFinite))]
					}
					sum, got := kernels.CheckF32(x)
					if got != at {
						t.Fatalf("n=%d off=%d: %v at %d (and at %d): firstNonFinite = %d", n, off, v, at, later, got)
					}
					want := exactSumSquares(x[:at])
					if d := math.Abs(sum - want); d > checkSumTolerance(at)*want {
						t.Fatalf("n=%d off=%d: %v at %d: sum of squares %v, want that of the %d values before it, %v", n, off, v, at, sum, at, want)
					}
					x[at] = keep
					if later >= 0 {
						x[later] = randF32(r, 20)
					}
				}
			}
		}
	})
}

func TestCheckF32Empty(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, x := range [][]float32{nil, {}} {
			if s, i := kernels.CheckF32(x); s != 0 || i != -1 {
				t.Fatalf("CheckF32(%v) = %v, %d, want 0, -1", x, s, i)
			}
		}
	})
}

func TestLengthMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"AddScaledF32ToF64": func() { kernels.AddScaledF32ToF64(make([]float64, 3), make([]float32, 4), 1) },
		"AddScaledF32":      func() { kernels.AddScaledF32(make([]float32, 4), make([]float32, 3), 1) },
		"AddU32":            func() { kernels.AddU32(nil, make([]uint32, 1)) },
		"AddU64":            func() { kernels.AddU64(make([]uint64, 1), nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

// TestSameSlice: acc and x may be the same slice (acc doubles).
func TestSameSlice(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		u := []uint32{1, 2, 3, 1 << 31, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33}
		want := slices.Clone(u)
		for i := range want {
			want[i] *= 2
		}
		kernels.AddU32(u, u)
		if !slices.Equal(u, want) {
			t.Fatalf("AddU32(u, u) = %v, want %v", u, want)
		}
		f := make([]float32, 37)
		for i := range f {
			f[i] = float32(i)
		}
		kernels.AddScaledF32(f, f, 2)
		for i, v := range f {
			if v != float32(3*i) {
				t.Fatalf("AddScaledF32(f, f, 2)[%d] = %v, want %v", i, v, 3*i)
			}
		}
	})
}

func TestParallelCoversOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	ns := []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 4096, 4097, 65536, 100_003, 1 << 20}
	mins := []int{-1, 0, 1, 15, 16, 17, 100, 1000, 4096, 50_000}
	for _, procs := range []int{1, 2, 3, 4, 7, 8, 64} {
		runtime.GOMAXPROCS(procs)
		for _, n := range ns {
			for _, minBlock := range mins {
				name := fmt.Sprintf("procs=%d n=%d minBlock=%d", procs, n, minBlock)
				var mu sync.Mutex
				var got [][2]int
				kernels.Parallel(n, minBlock, func(lo, hi int) {
					mu.Lock()
					got = append(got, [2]int{lo, hi})
					mu.Unlock()
				})
				slices.SortFunc(got, func(a, b [2]int) int { return a[0] - b[0] })
				if n <= 0 {
					if len(got) != 0 {
						t.Fatalf("%s: fn called %v", name, got)
					}
					continue
				}
				if len(got) == 0 || got[0][0] != 0 || got[len(got)-1][1] != n {
					t.Fatalf("%s: blocks %v do not span [0, %d)", name, got, n)
				}
				for i, b := range got {
					if b[0] >= b[1] {
						t.Fatalf("%s: empty block %v", name, b)
					}
					if i > 0 && b[0] != got[i-1][1] {
						t.Fatalf("%s: blocks %v overlap or leave a gap", name, got)
					}
					if b[0]%16 != 0 {
						t.Fatalf("%s: block %v does not start on a multiple of 16", name, b)
					}
					if len(got) > 1 && b[1]-b[0] < minBlock {
						t.Fatalf("%s: block %v is shorter than minBlock", name, b)
					}
				}
				// As many blocks as GOMAXPROCS and minBlock allow.
				want := min(procs, max(1, n/16/((max(minBlock, 1)+15)/16)))
				if len(got) != want {
					t.Fatalf("%s: %d blocks %v, want %d", name, len(got), got, want)
				}
			}
		}
	}
}

func TestParallelRunsConcurrently(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	// Each block waits until all four have started: this deadlocks unless
	// the blocks run at the same time.
	var started sync.WaitGroup
	started.Add(4)
	kernels.Parallel(4*1024, 1024, func(lo, hi int) {
		started.Done()
		started.Wait()
	})
}

func TestParallelPanics(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var mu sync.Mutex
	calls := 0
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the block's panic", r)
		}
		if calls != 4 {
			t.Fatalf("%d blocks ran, want 4 (Parallel must wait for all)", calls)
		}
	}()
	kernels.Parallel(4*1024, 1024, func(lo, hi int) {
		mu.Lock()
		calls++
		mu.Unlock()
		if lo > 0 {
			panic("boom")
		}
	})
}

// TestParallelKernel splits a kernel with Parallel: the result is the same
// as one call, since each element is computed independently.
func TestParallelKernel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	r := rand.New(rand.NewPCG(15, 16))
	acc0, x, w := fmaCase(r, 100_001)
	one, split := slices.Clone(acc0), slices.Clone(acc0)
	kernels.AddScaledF32ToF64(one, x, w)
	kernels.Parallel(len(x), 1000, func(lo, hi int) { kernels.AddScaledF32ToF64(split[lo:hi], x[lo:hi], w) })
	if !slices.Equal(one, split) {
		t.Fatal("Parallel AddScaledF32ToF64 differs from one call")
	}
}
