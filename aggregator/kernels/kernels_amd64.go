//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// simdName is what Implementation reports for the assembly kernels.
const simdName = "avx2-fma"

// hasSIMD reports whether the CPU (and the OS, which x/sys/cpu checks for
// the AVX state) supports the assembly kernels. GODEBUG=cpu.avx2=off or
// cpu.fma=off turns them off.
var hasSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The wrappers below are called only with equal, non-zero lengths.

func addScaledF32ToF64SIMD(acc []float64, x []float32, w float64) {
	addScaledF32ToF64AVX2(&acc[0], &x[0], len(acc), w)
}

func addScaledF32SIMD(acc, x []float32, w float32) {
	addScaledF32AVX2(&acc[0], &x[0], len(acc), w)
}

func addU32SIMD(acc, x []uint32) { addU32AVX2(&acc[0], &x[0], len(acc)) }

func addU64SIMD(acc, x []uint64) { addU64AVX2(&acc[0], &x[0], len(acc)) }

// checkF32SIMD runs the block loop of CheckF32 (see checkF32Blocks).
func checkF32SIMD(x []float32) (sum float64, done int) {
	if len(x) < checkLane {
		return 0, 0
	}
	return checkF32AVX2(&x[0], len(x))
}

// The assembly, in kernels_amd64.s. Each takes n ≥ 1 elements.

// addScaledF32ToF64AVX2 sets acc[i] = fma(w, float64(x[i]), acc[i]).
//
//go:noescape
func addScaledF32ToF64AVX2(acc *float64, x *float32, n int, w float64)

// addScaledF32AVX2 sets acc[i] = fma(w, x[i], acc[i]) in float32.
//
//go:noescape
func addScaledF32AVX2(acc, x *float32, n int, w float32)

// addU32AVX2 sets acc[i] += x[i] modulo 2³².
//
//go:noescape
func addU32AVX2(acc, x *uint32, n int)

// addU64AVX2 sets acc[i] += x[i] modulo 2⁶⁴.
//
//go:noescape
func addU64AVX2(acc, x *uint64, n int)

// checkF32AVX2 is checkF32Blocks: it checks and sums whole 32-element blocks
// until fewer than 32 remain or a block holds a NaN or ±Inf, and returns the
// sum of squares of x[:done] and done.
//
//go:noescape
func checkF32AVX2(x *float32, n int) (sum float64, done int)
