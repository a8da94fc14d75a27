package kernels

// SetGenericForTesting forces the pure-Go kernels (true) or restores the
// run-time choice (false), so that tests can compare both paths on one
// machine. Tests that call it must not run in parallel with kernel calls.
func SetGenericForTesting(on bool) { setGeneric(on) }

// HasSIMD reports whether this machine and build can run the assembly.
func HasSIMD() bool { return hasSIMD }

// FMA32 is the pure-Go float32 fused multiply-add.
func FMA32(w, x, a float32) float32 { return fma32(w, x, a) }
