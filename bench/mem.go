package bench

import "testing"

// Fill sets x to deterministic pseudo-random values in [-1, 1) (xorshift64*;
// the same seed gives the same values). It is quick enough to set up 64 MiB
// in a few tens of milliseconds.
func Fill(x []float32, seed uint64) {
	s := seed*0x9e3779b97f4a7c15 | 1
	for i := range x {
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		r := s * 0x2545f4914f6cdd1d
		x[i] = float32(int32(r>>32)) / (1 << 31)
	}
}

// MemCopy measures memory bandwidth: copy of an n-float32 slice into another.
// It is the reference row (no baseline). Bytes per op: 4n (the bytes copied);
// memory traffic: 8n (read 4n, write 4n).
func MemCopy(b *testing.B, n int) {
	src, dst := make([]float32, n), make([]float32, n)
	Fill(src, 1)
	Fill(dst, 2) // touch every page before timing
	b.SetBytes(4 * int64(n))
	b.ReportAllocs()
	for b.Loop() {
		copy(dst, src)
	}
	if dst[n-1] != src[n-1] {
		Fatal(b, "copy did not copy")
	}
	reportMemBandwidth(b, 8*int64(n))
}

// SumFloat32 returns the sum of x, with eight independent partial sums so that
// the loop is limited by memory (or load throughput), not by the latency of
// one dependent chain of additions.
func SumFloat32(x []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
		s4 += v[4]
		s5 += v[5]
		s6 += v[6]
		s7 += v[7]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// MemSum measures a streaming read: SumFloat32 over n float32. Bytes per op
// and memory traffic: 4n.
func MemSum(b *testing.B, n int) {
	x := make([]float32, n)
	Fill(x, 3)
	b.SetBytes(4 * int64(n))
	b.ReportAllocs()
	for b.Loop() { // b.Loop keeps the call from being optimised away
		SumFloat32(x)
	}
	reportMemBandwidth(b, 4*int64(n))
}
