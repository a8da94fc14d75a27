package bench_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/confed/confed/aggregator/kernels"
	"github.com/confed/confed/bench"
)

// BenchmarkKernel runs the Kernel rows (bench.KernelCases) at FullSizes
// (ShortSizes with -short):
//
//	go test -run '^$' -bench 'Kernel/addf64' ./bench/
func BenchmarkKernel(b *testing.B) {
	for _, c := range bench.KernelCases(sizes()) {
		b.Run(strings.TrimPrefix(c.Name, "Kernel/"), c.Bench)
	}
}

// TestKernelCasesShapes checks that the Kernel rows follow Suite's rows
// without clashing, and that every baseline is there (whether or not Suite
// already appends them).
func TestKernelCasesShapes(t *testing.T) {
	for _, s := range []bench.Sizes{bench.FullSizes, bench.ShortSizes, bench.TinySizes, {Floats: 100, Params: []int{3000}, Codec: 5000}} {
		kc := bench.KernelCases(s)
		all := bench.Suite(s)
		if !slices.ContainsFunc(all, func(c bench.Case) bool { return c.Group() == "Kernel" }) {
			all = append(all, kc...) // not (yet) in Suite: they must fit after it
		}
		if err := bench.Check(all); err != nil {
			t.Errorf("sizes %+v: %v", s, err)
		}
		if want := 5 * 2 * 4; len(kc) != want {
			t.Errorf("sizes %+v: %d Kernel rows, want %d", s, len(kc), want)
		}
		for _, c := range kc {
			if c.Group() != "Kernel" {
				t.Errorf("case %q: group %q, want Kernel", c.Name, c.Group())
			}
		}
	}
}

// TestKernelCasesTiny runs every Kernel row once at TinySizes: a broken body
// fails the tests. Nothing about time is checked.
func TestKernelCasesTiny(t *testing.T) {
	setBenchtime(t, "1x")
	for _, c := range bench.KernelCases(bench.TinySizes) {
		t.Run(c.Name, func(t *testing.T) {
			r, err := bench.Run(c.Bench)
			if err != nil {
				t.Fatal(err)
			}
			if r.N != 1 || r.Bytes <= 0 {
				t.Errorf("N = %d, bytes/op = %d", r.N, r.Bytes)
			}
		})
	}
}

// TestKernelNaive checks that the plain loops the kernels are compared with
// do the same work as the kernels.
func TestKernelNaive(t *testing.T) {
	const n = 1001
	x := make([]float32, n)
	bench.Fill(x, 1)
	acc64, want64 := make([]float64, n), make([]float64, n)
	bench.AddNaive(acc64, x, 3)
	kernels.AddScaledF32ToF64(want64, x, 3)
	acc32, want32 := make([]float32, n), make([]float32, n)
	bench.AddF32Naive(acc32, x, 3)
	kernels.AddScaledF32(want32, x, 3)
	for i := range n {
		if math.Abs(acc64[i]-want64[i]) > 1e-15 || math.Abs(float64(acc32[i]-want32[i])) > 1e-6 {
			t.Fatalf("element %d: naive %v %v, kernels %v %v", i, acc64[i], acc32[i], want64[i], want32[i])
		}
	}
	u32, w32 := make([]uint32, n), make([]uint32, n)
	bench.FillU64Bits(u32, 2)
	v32 := slices.Clone(u32)
	bench.AddU32Naive(u32, v32)
	kernels.AddU32(w32, v32)
	kernels.AddU32(w32, v32)
	if !slices.Equal(u32, w32) {
		t.Fatal("AddU32Naive differs from kernels.AddU32")
	}
	u64, w64 := make([]uint64, n), make([]uint64, n)
	bench.FillU64Bits(u64, 3)
	v64 := slices.Clone(u64)
	bench.AddU64Naive(u64, v64)
	kernels.AddU64(w64, v64)
	kernels.AddU64(w64, v64)
	if !slices.Equal(u64, w64) {
		t.Fatal("AddU64Naive differs from kernels.AddU64")
	}
	for _, at := range []int{-1, 0, 500, n - 1} {
		y := slices.Clone(x)
		if at >= 0 {
			y[at] = float32(math.Inf(-1))
		}
		s1, i1 := bench.CheckF32Naive(y)
		s2, i2 := kernels.CheckF32(y)
		if i1 != at || i2 != at || math.Abs(s1-s2) > 1e-12*s2 {
			t.Fatalf("non-finite at %d: naive %v, %d; kernels %v, %d", at, s1, i1, s2, i2)
		}
	}
}
