package bench

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"

	"github.com/confed/confed/aggregator/kernels"
)

// The Kernel rows measure package aggregator/kernels against plain Go loops
// doing the same work, on one core and split across all cores with
// kernels.Parallel, on a block that stays in cache and on vectors in main
// memory. They are listed by KernelCases, which come after Suite's rows:
// the plain loops' baseline is Suite's Mem/sum row (the scalar streaming
// read), and each kernel's baseline is its plain loop on the same data.

// KernelMode says how a Kernel body runs.
type KernelMode struct {
	// Plain runs the plain Go loop (the baseline) instead of the kernel.
	Plain bool
	// Parallel splits the work with kernels.Parallel into GOMAXPROCS
	// blocks, one per goroutine.
	Parallel bool
}

// AddF32Naive is the plain loop of kernels.AddScaledF32: acc[i] += w×x[i]
// in float32. len(x) must be at least len(acc).
func AddF32Naive(acc, x []float32, w float32) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] += w * x[i]
	}
}

// AddU32Naive is the plain loop of kernels.AddU32: acc[i] += x[i], wrapping.
func AddU32Naive(acc, x []uint32) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] += x[i]
	}
}

// AddU64Naive is the plain loop of kernels.AddU64.
func AddU64Naive(acc, x []uint64) {
	x = x[:len(acc)]
	for i := range acc {
		acc[i] += x[i]
	}
}

// CheckF32Naive is the plain loop of kernels.CheckF32, as the Ingestor
// writes it: the first NaN or ±Inf, and the sum of squares before it in one
// float64 chain.
func CheckF32Naive(x []float32) (sumSquares float64, firstNonFinite int) {
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return sumSquares, i
		}
		sumSquares += f * f
	}
	return sumSquares, -1
}

// kernelWeight is the weight of the multiply-add rows.
const kernelWeight = 37

// split runs fn over [0, n): once, or with kernels.Parallel in GOMAXPROCS
// blocks.
func (m KernelMode) split(n int, fn func(lo, hi int)) {
	if !m.Parallel {
		fn(0, n)
		return
	}
	kernels.Parallel(n, max(16, n/runtime.GOMAXPROCS(0)/16*16), fn)
}

// KernelAddScaledF32ToF64 measures kernels.AddScaledF32ToF64 (or AddNaive) on
// n values. Bytes per op: 4n (x); memory traffic: 20n (read x, read and write
// the float64 sum).
func KernelAddScaledF32ToF64(b *testing.B, n int, m KernelMode) {
	x, acc := make([]float32, n), make([]float64, n)
	Fill(x, 4)
	op := func(lo, hi int) { kernels.AddScaledF32ToF64(acc[lo:hi], x[lo:hi], kernelWeight) }
	if m.Plain {
		op = func(lo, hi int) { AddNaive(acc[lo:hi], x[lo:hi], kernelWeight) }
	}
	runKernel(b, n, m, 4, 20, op)
	if acc[n-1] == 0 && x[n-1] != 0 {
		Fatal(b, "nothing added")
	}
}

// KernelAddScaledF32 measures kernels.AddScaledF32 (or AddF32Naive) on n
// values. Bytes per op: 4n; memory traffic: 12n.
func KernelAddScaledF32(b *testing.B, n int, m KernelMode) {
	x, acc := make([]float32, n), make([]float32, n)
	Fill(x, 5)
	op := func(lo, hi int) { kernels.AddScaledF32(acc[lo:hi], x[lo:hi], kernelWeight) }
	if m.Plain {
		op = func(lo, hi int) { AddF32Naive(acc[lo:hi], x[lo:hi], kernelWeight) }
	}
	runKernel(b, n, m, 4, 12, op)
	if acc[n-1] == 0 && x[n-1] != 0 {
		Fatal(b, "nothing added")
	}
}

// KernelAddU32 measures kernels.AddU32 (or AddU32Naive) on n values. Bytes
// per op: 4n; memory traffic: 12n.
func KernelAddU32(b *testing.B, n int, m KernelMode) {
	x, acc := make([]uint32, n), make([]uint32, n)
	FillU64Bits(x, 6)
	op := func(lo, hi int) { kernels.AddU32(acc[lo:hi], x[lo:hi]) }
	if m.Plain {
		op = func(lo, hi int) { AddU32Naive(acc[lo:hi], x[lo:hi]) }
	}
	runs := runKernel(b, n, m, 4, 12, op)
	// acc started at zero and was added x to runs times, modulo 2³².
	if want := x[n-1] * uint32(runs); acc[n-1] != want {
		Fatal(b, "acc[%d] = %d after %d additions of %d, want %d", n-1, acc[n-1], runs, x[n-1], want)
	}
}

// KernelAddU64 measures kernels.AddU64 (or AddU64Naive) on n values. Bytes
// per op: 8n; memory traffic: 24n.
func KernelAddU64(b *testing.B, n int, m KernelMode) {
	x, acc := make([]uint64, n), make([]uint64, n)
	FillU64Bits(x, 7)
	op := func(lo, hi int) { kernels.AddU64(acc[lo:hi], x[lo:hi]) }
	if m.Plain {
		op = func(lo, hi int) { AddU64Naive(acc[lo:hi], x[lo:hi]) }
	}
	runs := runKernel(b, n, m, 8, 24, op)
	if want := x[n-1] * uint64(runs); acc[n-1] != want {
		Fatal(b, "acc[%d] = %d after %d additions of %d, want %d", n-1, acc[n-1], runs, x[n-1], want)
	}
}

// KernelCheckF32 measures kernels.CheckF32 (or CheckF32Naive) on n finite
// values. Bytes per op and memory traffic: 4n.
func KernelCheckF32(b *testing.B, n int, m KernelMode) {
	x := make([]float32, n)
	Fill(x, 8)
	check := kernels.CheckF32
	if m.Plain {
		check = CheckF32Naive
	}
	var (
		mu    sync.Mutex
		sum   float64
		first = -1
	)
	runKernel(b, n, m, 4, 4, func(lo, hi int) {
		s, i := check(x[lo:hi])
		mu.Lock()
		sum += s
		if i >= 0 && (first < 0 || lo+i < first) {
			first = lo + i
		}
		mu.Unlock()
	})
	if first != -1 || !(sum > 0) {
		Fatal(b, "CheckF32 of finite data: sum %v, first non-finite %d", sum, first)
	}
}

// runKernel runs op over [0, n) once to fault in the pages, then times it,
// with elemSize bytes of payload and traffic bytes of memory traffic per
// element. It returns how many times op ran over the whole vector.
func runKernel(b *testing.B, n int, m KernelMode, elemSize, traffic int64, op func(lo, hi int)) int {
	if n <= 0 {
		Fatal(b, "n = %d", n)
	}
	m.split(n, op)
	runs := 1
	b.SetBytes(elemSize * int64(n))
	b.ReportAllocs()
	for b.Loop() {
		m.split(n, op)
		runs++
	}
	reportMemBandwidth(b, traffic*int64(n))
	return runs
}

// FillU64Bits sets x to deterministic pseudo-random values (xorshift64*,
// truncated to the element type).
func FillU64Bits[T uint32 | uint64](x []T, seed uint64) {
	s := seed*0x9e3779b97f4a7c15 | 1
	for i := range x {
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		x[i] = T(s * 0x2545f4914f6cdd1d)
	}
}

// kernelRow is one kernel of the Kernel rows.
type kernelRow struct {
	name     string // in the row name
	elemSize int    // bytes of x per element
	body     func(b *testing.B, n int, m KernelMode)
}

var kernelRows = []kernelRow{
	{"addf64", 4, KernelAddScaledF32ToF64},
	{"addf32", 4, KernelAddScaledF32},
	{"addu32", 4, KernelAddU32},
	{"addu64", 8, KernelAddU64},
	{"check", 4, KernelCheckF32},
}

// KernelCases returns the Kernel rows for sizes s. They come after Suite(s),
// whose Mem/sum row is the plain loops' baseline. For each kernel (addf64:
// AddScaledF32ToF64, addf32: AddScaledF32, addu32, addu64, check: CheckF32)
// and each size (a cache-resident block of 32 KiB of x, and 4·s.Floats bytes
// of x, 64 MiB at FullSizes), in this order:
//
//	Kernel/<kernel>.loop/<size>          plain Go loop, one core     baseline Mem/sum
//	Kernel/<kernel>.<impl>/<size>        kernels package, one core   baseline the loop above
//	Kernel/<kernel>.loop.par/<size'>     plain loop, Parallel        baseline Mem/sum
//	Kernel/<kernel>.<impl>.par/<size'>   kernels, Parallel           baseline the parallel loop
//
// <impl> is kernels.Implementation() ("avx2-fma" or "generic"). <size> is the
// bytes of x; the parallel rows on the cache block give each of the
// GOMAXPROCS goroutines its own block (<size'> = "2x32KiB" on two cores),
// while the main-memory rows split the same vector.
func KernelCases(s Sizes) []Case {
	sum := "Mem/sum/n=" + Label(s.Floats)
	impl := kernels.Implementation()
	procs := runtime.GOMAXPROCS(0)
	memBytes := 4 * s.Floats
	cacheBytes := min(32<<10, memBytes/2)
	type size struct {
		label string
		bytes int
	}
	var cases []Case
	for _, k := range kernelRows {
		for _, sz := range []struct{ one, par size }{
			{size{bytesLabel(cacheBytes), cacheBytes}, size{fmt.Sprintf("%dx%s", procs, bytesLabel(cacheBytes)), procs * cacheBytes}},
			{size{bytesLabel(memBytes), memBytes}, size{bytesLabel(memBytes), memBytes}},
		} {
			for _, par := range []bool{false, true} {
				z := sz.one
				suffix := ""
				if par {
					z, suffix = sz.par, ".par"
				}
				n := max(1, z.bytes/k.elemSize)
				loop := "Kernel/" + k.name + ".loop" + suffix + "/" + z.label
				cases = append(cases,
					Case{Name: loop, Baseline: sum, Bench: func(b *testing.B) { k.body(b, n, KernelMode{Plain: true, Parallel: par}) }},
					Case{Name: "Kernel/" + k.name + "." + impl + suffix + "/" + z.label, Baseline: loop, Bench: func(b *testing.B) { k.body(b, n, KernelMode{Parallel: par}) }},
				)
			}
		}
	}
	return cases
}

// bytesLabel formats a byte count: 64MiB, 32KiB, 400B.
func bytesLabel(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
