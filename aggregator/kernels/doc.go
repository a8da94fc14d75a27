// Package kernels holds the vectorised loops of the aggregator's hot path:
// folding a float32 update into the float64 FedAvg sum, float32 and
// fixed-point (ring) accumulation, and the finite check with the sum of
// squares that update validation needs.
//
// On amd64 each kernel is Go assembly using AVX2 and FMA, chosen at run time
// when the CPU has both (golang.org/x/sys/cpu); otherwise, on other
// architectures and with the purego build tag, a portable pure-Go version
// runs. Implementation reports which. Every kernel takes slices of any
// length and any alignment; the assembly handles the tail itself, so no
// element is ever touched twice or outside the slices.
//
// # Results do not depend on the code path
//
// Both paths compute exactly the same bits, so an aggregate does not
// depend on which CPU the aggregator ran on:
//
//   - AddScaledF32ToF64 and AddScaledF32 compute one fused multiply-add
//     per element, rounded once (VFMADD on amd64; math.FMA, and for
//     float32 an exactly rounded emulation, in pure Go). This is at least
//     as accurate as the plain loop acc[i] += w*x[i], which rounds twice,
//     but it is not bit-identical to it: the two differ by at most one
//     rounding of the addition per element.
//   - AddU32 and AddU64 wrap modulo 2³² and 2⁶⁴.
//   - CheckF32 adds the squares of 32-element blocks into 32 partial sums
//     (element i into partial sum i mod 32) and reduces them in a fixed
//     order; the squares of float32 values are exact in float64.
//
// The pure-Go FMA is fast wherever math.FMA is a single instruction
// (amd64 with FMA, arm64, ppc64, s390x, riscv64); on an amd64 CPU without
// FMA it is done in software, tens of times slower than a plain loop.
// Every CPU that can host SEV-SNP or TDX has AVX2 and FMA.
//
// # Preconditions
//
// The kernels that take two slices panic if their lengths differ; that is
// a programming error, not a data error. acc and x must either be the same
// slice or not overlap: with partially overlapping slices the result is
// unspecified. The kernels do not synchronise: callers that share acc
// between goroutines must lock, or give each goroutine its own part (see
// Parallel).
//
// Every AVX routine ends with VZEROUPPER, so code that runs after a kernel
// (AES-GCM in particular) does not pay the AVX-SSE transition penalty.
package kernels
