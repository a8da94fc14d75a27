package kernels

import "strconv"

// useSIMD selects the assembly kernels. It starts as hasSIMD (the CPU has
// what they need) and tests can clear it (setGeneric) to run the pure-Go
// kernels on the same machine. It is read on every call and written only by
// tests, never concurrently with a kernel.
var useSIMD = hasSIMD

// setGeneric forces the pure-Go kernels (on) or restores the run-time choice
// (off). Only for tests: see export_test.go.
func setGeneric(on bool) { useSIMD = hasSIMD && !on }

// Implementation reports the code path in use: "avx2-fma" (amd64 assembly)
// or "generic" (pure Go).
func Implementation() string {
	if useSIMD {
		return simdName
	}
	return "generic"
}

// AddScaledF32ToF64 adds w·x[i] to acc[i] for every i: the float64 FedAvg
// accumulator. Each element is one fused multiply-add, rounded once (see the
// package documentation). It panics if len(acc) != len(x).
func AddScaledF32ToF64(acc []float64, x []float32, w float64) {
	if len(acc) != len(x) {
		panicLengths("AddScaledF32ToF64", len(acc), len(x))
	}
	if len(acc) == 0 {
		return
	}
	if useSIMD {
		addScaledF32ToF64SIMD(acc, x, w)
		return
	}
	addScaledF32ToF64Generic(acc, x, w)
}

// AddScaledF32 adds w·x[i] to acc[i] for every i, in float32. Each element is
// one fused multiply-add, rounded once to float32. It panics if
// len(acc) != len(x).
func AddScaledF32(acc, x []float32, w float32) {
	if len(acc) != len(x) {
		panicLengths("AddScaledF32", len(acc), len(x))
	}
	if len(acc) == 0 {
		return
	}
	if useSIMD {
		addScaledF32SIMD(acc, x, w)
		return
	}
	addScaledF32Generic(acc, x, w)
}

// AddU32 adds x[i] to acc[i] for every i, modulo 2³² (the fixed-point ring
// sum). It panics if len(acc) != len(x).
func AddU32(acc, x []uint32) {
	if len(acc) != len(x) {
		panicLengths("AddU32", len(acc), len(x))
	}
	if len(acc) == 0 {
		return
	}
	if useSIMD {
		addU32SIMD(acc, x)
		return
	}
	addU32Generic(acc, x)
}

// AddU64 adds x[i] to acc[i] for every i, modulo 2⁶⁴. It panics if
// len(acc) != len(x).
func AddU64(acc, x []uint64) {
	if len(acc) != len(x) {
		panicLengths("AddU64", len(acc), len(x))
	}
	if len(acc) == 0 {
		return
	}
	if useSIMD {
		addU64SIMD(acc, x)
		return
	}
	addU64Generic(acc, x)
}

// CheckF32 checks x in one pass. firstNonFinite is the index of the first NaN,
// +Inf or -Inf in x, or -1 if every value is finite. sumSquares is the sum of
// the squares of x[:firstNonFinite] (all of x if firstNonFinite is -1),
// computed in float64: finite and, as every square of a float32 is exact in
// float64, accurate to a relative error below len(x)·2⁻⁵³.
func CheckF32(x []float32) (sumSquares float64, firstNonFinite int) {
	var sum float64
	done := 0
	if useSIMD {
		sum, done = checkF32SIMD(x)
	} else {
		sum, done = checkF32Blocks(x)
	}
	// done is where the block loop stopped: at the tail, or at the start of
	// the block holding the first non-finite value.
	for i := done; i < len(x); i++ {
		v := x[i]
		if isNonFinite(v) {
			return sum, i
		}
		f := float64(v)
		sum += f * f
	}
	return sum, -1
}

func panicLengths(fn string, acc, x int) {
	panic("kernels: " + fn + ": len(acc) = " + strconv.Itoa(acc) + ", len(x) = " + strconv.Itoa(x) + ": want equal lengths")
}
