package fixedpoint

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchSizes: an update that fits in L2 cache, and a 1M-parameter one (4 MiB
// of float32) that does not. sumSizes adds the 16Mi parameters of package
// bench's Accumulate benchmarks (float64 FedAvg), for comparison.
var (
	benchSizes = []int{1 << 12, 1 << 20}
	sumSizes   = []int{1 << 12, 1 << 20, 1 << 24}
)

// benchParams admit 2^30 updates (enough for any b.N) of weight 1, so the
// sums never fill up.
func benchParams(bits int) Params {
	return Params{Bits: bits, Clip: 1, Scale: 1, MaxWeight: 1, MaxParticipants: 1 << 30}
}

// BenchmarkQuantise32 measures Quantise32 (clip, weight, scale, stochastic
// rounding with ChaCha8). Bytes per op: 4n, the float32 input.
func BenchmarkQuantise32(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			p := Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 100, MaxParticipants: 16}
			x := randDelta(rand.New(rand.NewPCG(1, 1)), n, 1)
			dst := make([]uint32, n)
			src := seeded(1)
			b.SetBytes(4 * int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := Quantise32(dst, x, 37, p, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuantise64 is BenchmarkQuantise32 into the 64-bit ring. Bytes per
// op: 4n, the float32 input.
func BenchmarkQuantise64(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			p := Params{Bits: 64, Clip: 1, Scale: 1 << 32, MaxWeight: 1000, MaxParticipants: 1000}
			x := randDelta(rand.New(rand.NewPCG(1, 1)), n, 1)
			dst := make([]uint64, n)
			src := seeded(1)
			b.SetBytes(4 * int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := Quantise64(dst, x, 37, p, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSum32Add measures Sum32.Add: the range check, then the wrapping
// add under the lock. Bytes per op: 4n, the update added.
func BenchmarkSum32Add(b *testing.B) {
	for _, n := range sumSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			p := benchParams(32)
			q := make([]uint32, n)
			if err := Quantise32(q, randDelta(rand.New(rand.NewPCG(1, 1)), n, 1), 1, p, seeded(1)); err != nil {
				b.Fatal(err)
			}
			s, _ := NewSum32(n, p)
			b.SetBytes(4 * int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Add(q, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSum64Add is BenchmarkSum32Add in the 64-bit ring. Bytes per op: 8n.
func BenchmarkSum64Add(b *testing.B) {
	for _, n := range sumSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			p := benchParams(64)
			q := make([]uint64, n)
			if err := Quantise64(q, randDelta(rand.New(rand.NewPCG(1, 1)), n, 1), 1, p, seeded(1)); err != nil {
				b.Fatal(err)
			}
			s, _ := NewSum64(n, p)
			b.SetBytes(8 * int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Add(q, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKernel32Add measures GenericKernel.Add alone: the baseline for a
// SIMD kernel. Bytes per op: 4n.
func BenchmarkKernel32Add(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			dst, src := make([]uint32, n), make([]uint32, n)
			for i := range src {
				src[i] = uint32(i)
			}
			k := DefaultKernel32
			b.SetBytes(4 * int64(n))
			for b.Loop() {
				k.Add(dst, src)
			}
		})
	}
}
