//go:build !amd64 || purego

package kernels

// There is no assembly for this platform or build: the pure-Go kernels
// always run, and the functions below are never called.

const simdName = "generic"

const hasSIMD = false

func addScaledF32ToF64SIMD(acc []float64, x []float32, w float64) {
	addScaledF32ToF64Generic(acc, x, w)
}
func addScaledF32SIMD(acc, x []float32, w float32) { addScaledF32Generic(acc, x, w) }
func addU32SIMD(acc, x []uint32)                   { addU32Generic(acc, x) }
func addU64SIMD(acc, x []uint64)                   { addU64Generic(acc, x) }
func checkF32SIMD(x []float32) (float64, int)      { return checkF32Blocks(x) }
