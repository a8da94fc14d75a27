package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/confed/confed/internal/offheap"
)

// TestRoundTripWithinBound quantises several participants' deltas, sums them
// and checks, per coordinate, the error bound of the package documentation:
//
//   - the ring sum is exact: |Σ q_k − Σ y_k| < n, with y_k = c_k·(Scale·w_k)
//     the float64 value Quantise rounds, summed exactly (big.Rat);
//   - |Mean − ref| ≤ n/(Scale·W) + ε against ref = Σ w_k·c_k/W computed
//     exactly, where ε = 2^-50·(Σ w_k|c_k|/W + |Mean|) covers float64
//     rounding of the y_k (≤ 2^-52 relative each, Scale·w_k being
//     inexact when Scale is not a power of two) and of the final division
//     (≤ 2^-51 relative), and the float32 Mean adds 2^-24·|Mean| + 2^-150;
//   - against the unclipped weighted mean, add the clipping excess
//     Σ w_k·max(0, |x_k| − Clip)/W.
func TestRoundTripWithinBound(t *testing.T) {
	tests := []struct {
		name    string
		p       Params
		weights []uint64
	}{
		{"32/one", valid32, []uint64{1}},
		{"32/equal weights", valid32, []uint64{1, 1, 1}},
		{"32/mixed weights", valid32, []uint64{3, 17, 1, 100, 50, 2, 9, 64}},
		{"32/all MaxParticipants at MaxWeight", valid32, slices.Repeat([]uint64{100}, 16)},
		{"32/coarse scale", Params{Bits: 32, Clip: 0.5, Scale: 1 << 8, MaxWeight: 10, MaxParticipants: 20},
			[]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"32/scale 1000", Params{Bits: 32, Clip: 2, Scale: 1000, MaxWeight: 1000, MaxParticipants: 8}, []uint64{1000, 1, 500}},
		{"64/fine scale", Params{Bits: 64, Clip: 1, Scale: 1 << 32, MaxWeight: 1_000_000, MaxParticipants: 1000}, []uint64{1_000_000, 1, 12345}},
		{"64/near the top of the ring", Params{Bits: 64, Clip: 1, Scale: 1 << 50, MaxWeight: 64, MaxParticipants: 8}, slices.Repeat([]uint64{64}, 8)},
		{"64/scale 1e15", Params{Bits: 64, Clip: 3, Scale: 1e15, MaxWeight: 1000, MaxParticipants: 3}, []uint64{1000, 999, 7}},
	}
	const n = 1000
	for ti, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(ti), 11))
			s := newAnySum(t, n, tt.p)
			xs := make([][]float32, len(tt.weights))
			var W uint64
			for k, w := range tt.weights {
				xs[k] = randDelta(rng, n, tt.p.Clip)
				if err := s.add(quantiseAny(t, xs[k], w, tt.p, seeded(uint64(ti), uint64(k))), w); err != nil {
					t.Fatal(err)
				}
				W += w
			}
			if s.count() != len(tt.weights) || s.totalWeight() != W {
				t.Fatalf("Count, TotalWeight = %d, %d; want %d, %d", s.count(), s.totalWeight(), len(tt.weights), W)
			}
			m32, m64 := make([]float32, n), make([]float64, n)
			if err := s.mean32(m32); err != nil {
				t.Fatal(err)
			}
			if err := s.mean64(m64); err != nil {
				t.Fatal(err)
			}
			raw := s.signedRaw()
			count := float64(len(tt.weights))
			bound := count / (tt.p.Scale * float64(W))
			var worst, worstAll float64 // largest |Mean − ref| / bound, and / (bound + slack)
			for i := range n {
				var sumY, ref, refRaw big.Rat
				var absWC, excess float64
				for k, w := range tt.weights {
					c := clamp(xs[k][i], tt.p.Clip)
					y := c * (tt.p.Scale * float64(w)) // exactly as Quantise computes it
					sumY.Add(&sumY, new(big.Rat).SetFloat64(y))
					wr := new(big.Rat).SetUint64(w)
					ref.Add(&ref, new(big.Rat).Mul(wr, new(big.Rat).SetFloat64(c)))
					refRaw.Add(&refRaw, new(big.Rat).Mul(wr, new(big.Rat).SetFloat64(float64(xs[k][i]))))
					absWC += float64(w) * math.Abs(c)
					excess += float64(w) * math.Max(0, math.Abs(float64(xs[k][i]))-tt.p.Clip)
				}
				// The ring sum is exact: within n of Σ y_k, strictly.
				diff := new(big.Rat).Sub(new(big.Rat).SetInt64(raw[i]), &sumY)
				if diff.Abs(diff).Cmp(new(big.Rat).SetFloat64(count)) >= 0 {
					t.Fatalf("coordinate %d: |Σq − Σy| = %s, want < %g", i, diff.FloatString(3), count)
				}
				wr := new(big.Rat).SetUint64(W)
				refF, _ := ref.Quo(&ref, wr).Float64()
				refRawF, _ := refRaw.Quo(&refRaw, wr).Float64()
				slack := 0x1p-50 * (absWC/float64(W) + math.Abs(m64[i]))
				if d := math.Abs(m64[i] - refF); d > bound+slack {
					t.Fatalf("coordinate %d: float64 mean off the clipped weighted mean by %g > %g + %g", i, d, bound, slack)
				} else {
					worst, worstAll = max(worst, d/bound), max(worstAll, d/(bound+slack))
				}
				slack32 := slack + 0x1p-24*math.Abs(m64[i]) + 0x1p-150
				if d := math.Abs(float64(m32[i]) - refF); d > bound+slack32 {
					t.Fatalf("coordinate %d: float32 mean off the clipped weighted mean by %g > %g + %g", i, d, bound, slack32)
				}
				if d := math.Abs(m64[i] - refRawF); d > bound+excess/float64(W)+slack {
					t.Fatalf("coordinate %d: mean off the unclipped weighted mean by %g > %g + clipping %g", i, d, bound, excess/float64(W))
				}
			}
			t.Logf("n/(Scale·W) = %.3g; largest error seen = %.3g of it, %.3g of it plus the float64 slack", bound, worst, worstAll)
		})
	}
}

// TestOrderIndependence is a property test: the ring sum of the same
// quantised updates is bit-identical for many random arrival orders (fixed
// seed), and so is the mean. For contrast it counts the orders for which
// the float64 weighted sum of the original deltas (as fedavg.Accumulator
// computes it) changes.
func TestOrderIndependence(t *testing.T) {
	const k, n, perms = 25, 257, 300
	for _, p := range []Params{
		{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 32},
		{Bits: 64, Clip: 1, Scale: 1 << 40, MaxWeight: 1000, MaxParticipants: 32},
	} {
		t.Run(fmt.Sprintf("%d-bit", p.Bits), func(t *testing.T) {
			if p.Bits == 32 {
				p.Scale = 1 << 6 // 32 × 1000 × 2^6 < 2^31
			}
			rng := rand.New(rand.NewPCG(42, uint64(p.Bits)))
			qs, ws, xs := make([][]uint64, k), make([]uint64, k), make([][]float32, k)
			for j := range k {
				ws[j] = 1 + rng.Uint64N(p.MaxWeight)
				xs[j] = randDelta(rng, n, p.Clip)
				qs[j] = quantiseAny(t, xs[j], ws[j], p, seeded(7, uint64(j)))
			}
			sumInOrder := func(order []int) ([]int64, []float64, []float64) {
				s := newAnySum(t, n, p)
				fsum := make([]float64, n)
				for _, j := range order {
					if err := s.add(qs[j], ws[j]); err != nil {
						t.Fatal(err)
					}
					for i, x := range xs[j] {
						fsum[i] += float64(ws[j]) * float64(x) // what fedavg.Accumulator does
					}
				}
				m := make([]float64, n)
				if err := s.mean64(m); err != nil {
					t.Fatal(err)
				}
				return s.signedRaw(), m, fsum
			}
			order := make([]int, k)
			for j := range order {
				order[j] = j
			}
			wantRaw, wantMean, wantF := sumInOrder(order)
			floatDiffers := 0
			for range perms {
				rng.Shuffle(k, func(a, b int) { order[a], order[b] = order[b], order[a] })
				raw, m, f := sumInOrder(order)
				if !slices.Equal(raw, wantRaw) {
					t.Fatalf("order %v: ring sum differs", order)
				}
				if !slices.EqualFunc(m, wantMean, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
					t.Fatalf("order %v: mean differs", order)
				}
				if !slices.Equal(f, wantF) {
					floatDiffers++
				}
			}
			t.Logf("ring sum identical for %d orders; a float64 sum of the same updates changed in %d of them", perms, floatDiffers)
		})
	}
}

// TestConcurrentAdds adds the same updates from 8 goroutines at once (run
// with -race) and checks the sum equals the sequential one.
func TestConcurrentAdds(t *testing.T) {
	const k, n = 40, 1000
	p := Params{Bits: 32, Clip: 1, Scale: 1 << 12, MaxWeight: 50, MaxParticipants: k}
	rng := rand.New(rand.NewPCG(3, 3))
	qs := make([][]uint32, k)
	for j := range qs {
		qs[j] = make([]uint32, n)
		if err := Quantise32(qs[j], randDelta(rng, n, 1), uint64(j%50+1), p, seeded(5, uint64(j))); err != nil {
			t.Fatal(err)
		}
	}
	seq, _ := NewSum32(n, p)
	for j, q := range qs {
		if err := seq.Add(q, uint64(j%50+1)); err != nil {
			t.Fatal(err)
		}
	}
	par, _ := NewSum32(n, p)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for j := g; j < k; j += 8 {
				if err := par.Add(qs[j], uint64(j%50+1)); err != nil {
					t.Error(err)
				}
				_ = par.Count()
			}
		})
	}
	wg.Wait()
	if !slices.Equal(seq.Raw(), par.Raw()) || seq.TotalWeight() != par.TotalWeight() || par.Count() != k {
		t.Fatal("concurrent adds differ from sequential ones")
	}
	if err := par.Add(qs[0], 1); !errors.Is(err, ErrFull) {
		t.Fatalf("Add beyond MaxParticipants = %v, want ErrFull", err)
	}
}

func TestSumRefusals(t *testing.T) {
	p := Params{Bits: 32, Clip: 1, Scale: 1 << 4, MaxWeight: 10, MaxParticipants: 2}
	// MaxAbs(3) = 48.
	ok := []uint32{48, uint32(0xFFFFFFFF - 47), 0} // +48, −48, 0: the edges are accepted
	tests := []struct {
		name  string
		q     []uint32
		w     uint64
		is    error
		index int // for ElementErrors
	}{
		{"short", []uint32{0, 0}, 3, ErrLength, -1},
		{"long", []uint32{0, 0, 0, 0}, 3, ErrLength, -1},
		{"weight 0", ok, 0, ErrBadWeight, -1},
		{"weight above MaxWeight", ok, 11, ErrBadWeight, -1},
		{"+MaxAbs+1", []uint32{0, 49, 0}, 3, ErrOutOfRange, 1},
		{"−MaxAbs−1", []uint32{0, 0, uint32(0xFFFFFFFF - 48)}, 3, ErrOutOfRange, 2},
		{"−2^31", []uint32{1 << 31, 0, 0}, 3, ErrOutOfRange, 0},
		{"2^31−1", []uint32{0, 1<<31 - 1, 0}, 10, ErrOutOfRange, 1},
	}
	s, err := NewSum32(3, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ok, 3); err != nil {
		t.Fatalf("Add at ±MaxAbs: %v", err)
	}
	before := s.Raw()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Add(tt.q, tt.w)
			if !errors.Is(err, tt.is) {
				t.Fatalf("Add = %v, want %v", err, tt.is)
			}
			var ee *ElementError
			if tt.index >= 0 && (!errors.As(err, &ee) || ee.Index != tt.index || !strings.Contains(err.Error(), fmt.Sprintf("element %d ", tt.index))) {
				t.Fatalf("Add = %v, want an ElementError at %d", err, tt.index)
			}
			if !slices.Equal(s.Raw(), before) || s.Count() != 1 || s.TotalWeight() != 3 {
				t.Fatal("a refused Add changed the sum")
			}
		})
	}
	if err := s.Add(ok, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ok, 3); !errors.Is(err, ErrFull) || s.TotalWeight() != 13 {
		t.Fatalf("third Add with MaxParticipants 2 = %v", err)
	}
	if err := s.Mean(make([]float32, 2)); !errors.Is(err, ErrLength) {
		t.Fatalf("Mean into 2 of 3 = %v, want ErrLength", err)
	}
}

func TestSumConstruction(t *testing.T) {
	p64 := valid32
	p64.Bits = 64
	for name, err := range map[string]error{
		"Sum32 with Bits 64": second(NewSum32(1, p64)),
		"Sum64 with Bits 32": second(NewSum64(1, valid32)),
		"negative n":         second(NewSum32(-1, valid32)),
		"invalid params":     second(NewSum32(1, Params{Bits: 32})),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := new(Sum32).Add(nil, 1); err == nil {
		t.Error("Add on a zero Sum32 succeeded")
	}
	s, _ := NewSum64(0, p64)
	if err := s.MeanFloat64(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Mean of nothing = %v, want ErrEmpty", err)
	}
	if err := s.Add(nil, 1); err != nil || s.MeanFloat64(nil) != nil || s.Len() != 0 {
		t.Errorf("empty updates: Add = %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestWeightOverflow pokes the states, unreachable through the API because
// Validate bounds MaxWeight × MaxParticipants by 2^53, of a total weight
// about to overflow (Add refuses, changing nothing) or beyond 2^53 (Mean
// refuses).
func TestWeightOverflow(t *testing.T) {
	for _, total := range []uint64{math.MaxUint64, MaxTotalWeight} {
		s, _ := NewSum32(1, valid32)
		s.s.total = total
		if err := s.Add([]uint32{1}, 1); !errors.Is(err, ErrBadWeight) || s.TotalWeight() != total || s.Count() != 0 {
			t.Errorf("Add with total weight %d = %v", total, err)
		}
	}
	s, _ := NewSum32(1, valid32)
	if err := s.Add([]uint32{1}, 1); err != nil {
		t.Fatal(err)
	}
	s.s.total = MaxTotalWeight + 1
	if err := s.Mean(make([]float32, 1)); err == nil || !strings.Contains(err.Error(), "overflowed") {
		t.Errorf("Mean = %v, want a weight overflow", err)
	}
}

// TestMeanFloat32Overflow: a mean that is finite in float64 but not in
// float32 is refused by Mean and returned by MeanFloat64. With Scale =
// 2^-104·(1+2^-40) and x = MaxFloat32, y = (2^24 − 1)(1 + 2^-40) rounds up
// to 2^24, whose mean 2^128/(1+2^-40) overflows float32.
func TestMeanFloat32Overflow(t *testing.T) {
	p := Params{Bits: 32, Clip: 1e39, Scale: 0x1p-104 * (1 + 0x1p-40), MaxWeight: 1, MaxParticipants: 1}
	q := make([]uint32, 2)
	if err := Quantise32(q, []float32{1, math.MaxFloat32}, 1, p, constSource(0)); err != nil {
		t.Fatal(err)
	}
	s, _ := NewSum32(2, p)
	if err := s.Add(q, 1); err != nil {
		t.Fatal(err)
	}
	var ee *ElementError
	if err := s.Mean(make([]float32, 2)); !errors.As(err, &ee) || ee.Index != 1 {
		t.Fatalf("Mean = %v, want element 1 not fitting a float32", err)
	}
	m := make([]float64, 2)
	if err := s.MeanFloat64(m); err != nil || m[1] <= math.MaxFloat32 {
		t.Fatalf("MeanFloat64 = %v, %v", m, err)
	}
}

func TestGenericKernel(t *testing.T) {
	a := []uint32{math.MaxUint32, 0, 5}
	GenericKernel[uint32]{}.Add(a, []uint32{1, 1, math.MaxUint32})
	if want := []uint32{0, 1, 4}; !slices.Equal(a, want) {
		t.Fatalf("Add = %v, want %v", a, want)
	}
	GenericKernel[uint32]{}.Sub(a, []uint32{1, 2, 4})
	if want := []uint32{math.MaxUint32, math.MaxUint32, 0}; !slices.Equal(a, want) {
		t.Fatalf("Sub = %v, want %v", a, want)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := make([]uint64, 100), make([]uint64, 100)
	for i := range x {
		x[i], y[i] = rng.Uint64(), rng.Uint64()
	}
	z := slices.Clone(x)
	GenericKernel[uint64]{}.Add(z, y)
	GenericKernel[uint64]{}.Sub(z, y)
	if !slices.Equal(z, x) {
		t.Fatal("Sub does not undo Add")
	}
	// OutOfRange at the extremes of both rings.
	k32, k64 := GenericKernel[uint32]{}, GenericKernel[uint64]{}
	for _, tt := range []struct {
		q     []uint32
		bound uint32
		want  int
	}{
		{[]uint32{0, 5, math.MaxUint32 - 4}, 5, -1},  // 0, +5, −5
		{[]uint32{0, 6}, 5, 1},                       // +6
		{[]uint32{math.MaxUint32 - 5}, 5, 0},         // −6
		{[]uint32{1<<31 - 1, 1 << 31}, 1<<31 - 1, 1}, // +max ok, −2^31 not
		{[]uint32{math.MaxUint32, 1}, 0, 0},          // bound 0: only 0
		{nil, 3, -1},
	} {
		if got := k32.OutOfRange(tt.q, tt.bound); got != tt.want {
			t.Errorf("OutOfRange(%#x, %d) = %d, want %d", tt.q, tt.bound, got, tt.want)
		}
	}
	if got := k64.OutOfRange([]uint64{1<<63 - 1, 1 << 63}, 1<<63-1); got != 1 {
		t.Errorf("64-bit OutOfRange at −2^63 = %d, want 1", got)
	}
	if got := k64.OutOfRange([]uint64{math.MaxUint64 - (1<<63 - 2)}, 1<<63-1); got != -1 {
		t.Errorf("64-bit OutOfRange at −(2^63−1) = %d, want -1", got)
	}
}

// reverseKernel adds back to front in blocks, as a stand-in for a SIMD
// kernel, and counts its calls. It inherits OutOfRange from GenericKernel.
type reverseKernel struct {
	GenericKernel[uint32]
	calls *atomic.Int64
}

func (k reverseKernel) Add(dst, src []uint32) {
	k.calls.Add(1)
	for end := len(dst); end > 0; end -= 7 {
		start := max(0, end-7)
		GenericKernel[uint32]{}.Add(dst[start:end], src[start:end])
	}
}

// TestKernelSwap checks that a Sum uses the kernel that was the default when
// it was created, and that another kernel gives the same sum.
func TestKernelSwap(t *testing.T) {
	var calls atomic.Int64
	old := DefaultKernel32
	DefaultKernel32 = reverseKernel{calls: &calls}
	swapped, _ := NewSum32(100, valid32)
	DefaultKernel32 = old
	generic, _ := NewSum32(100, valid32)
	rng := rand.New(rand.NewPCG(8, 8))
	for j := range 5 {
		q := make([]uint32, 100)
		if err := Quantise32(q, randDelta(rng, 100, 1), 7, valid32, seeded(uint64(j))); err != nil {
			t.Fatal(err)
		}
		if err := swapped.Add(q, 7); err != nil {
			t.Fatal(err)
		}
		if err := generic.Add(q, 7); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 5 {
		t.Fatalf("swapped kernel called %d times, want 5", calls.Load())
	}
	if !slices.Equal(swapped.Raw(), generic.Raw()) {
		t.Fatal("swapped kernel gives a different sum")
	}
}

// TestMeanAtMatchesMean takes the mean block by block, with blocks of odd
// sizes, and compares it with the whole mean bit for bit; blocks outside
// the sum are refused.
func TestMeanAtMatchesMean(t *testing.T) {
	p := Params{Bits: 32, Clip: 1, Scale: 1 << 10, MaxWeight: 100, MaxParticipants: 8}
	const n = 1001
	rng := rand.New(rand.NewPCG(3, 4))
	s, err := NewSum32(n, p)
	if err != nil {
		t.Fatal(err)
	}
	for j := range 5 {
		q := make([]uint32, n)
		if err := Quantise32(q, randDelta(rng, n, p.Clip), 10, p, seeded(9, uint64(j))); err != nil {
			t.Fatal(err)
		}
		if err := s.Add(q, 10); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]float64, n)
	if err := s.MeanFloat64(want); err != nil {
		t.Fatal(err)
	}
	for _, block := range []int{1, 7, 64, 1000, 1001} {
		got := make([]float64, n)
		for lo := 0; lo < n; lo += block {
			if err := s.MeanFloat64At(lo, got[lo:min(lo+block, n)]); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("blocks of %d: mean differs from the whole mean", block)
		}
	}
	for _, tc := range []struct{ lo, n int }{{-1, 2}, {1000, 2}, {n + 1, 0}} {
		if err := s.MeanFloat64At(tc.lo, make([]float64, tc.n)); !errors.Is(err, ErrLength) {
			t.Errorf("block [%d, %d): error %v, want ErrLength", tc.lo, tc.lo+tc.n, err)
		}
	}
}

// TestMappedSumFree checks a sum outside the Go heap: it adds as NewSum32's
// does, its memory is given back by Free, and every later use fails
// instead of touching that memory.
func TestMappedSumFree(t *testing.T) {
	p := Params{Bits: 32, Scale: 1 << 10, Clip: 1, MaxWeight: 100, MaxParticipants: 4}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	const n = offheap.MinMapped // 4 MiB of uint32: mapped
	before := offheap.Mapped()
	s, err := NewMappedSum32(n, p)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewSum32(n, p)
	if err != nil {
		t.Fatal(err)
	}
	if offheap.Mapped()-before != 4*n {
		t.Fatalf("%d bytes mapped, want %d", offheap.Mapped()-before, 4*n)
	}
	q := make([]uint32, n)
	q[0], q[n-1] = 5, ^uint32(2) // +5 and −3
	for _, sum := range []*Sum32{s, ref} {
		if err := sum.Add(q, 1); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(s.Raw(), ref.Raw()) {
		t.Fatal("the mapped sum differs from the heap sum")
	}
	if err := s.Free(); err != nil {
		t.Fatal(err)
	}
	if offheap.Mapped() != before {
		t.Fatalf("%d bytes still mapped after Free", offheap.Mapped()-before)
	}
	if err := s.Add(q, 1); !errors.Is(err, errFreed) {
		t.Fatalf("Add after Free: %v, want errFreed", err)
	}
	if err := s.MeanFloat64At(0, make([]float64, 8)); !errors.Is(err, errFreed) {
		t.Fatalf("MeanFloat64At after Free: %v, want errFreed", err)
	}
	if err := s.AddRawAt(0, q[:8], 10); !errors.Is(err, errFreed) {
		t.Fatalf("AddRawAt after Free: %v, want errFreed", err)
	}
	if raw, c, _ := s.TakeRaw(); raw != nil || c != 0 || s.Raw() != nil {
		t.Fatal("TakeRaw or Raw after Free returned the freed memory")
	}
	if err := s.Free(); err != nil {
		t.Fatalf("second Free: %v", err)
	}
}
