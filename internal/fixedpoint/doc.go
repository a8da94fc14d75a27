// Package fixedpoint aggregates model updates exactly, in fixed point, in the
// ring Z_{2^32} or Z_{2^64}: the aggregate is bit-for-bit the same whatever
// order the updates arrive in.
//
// Each participant quantises its example-weighted update to ring elements
// (Quantise32, Quantise64); the aggregator adds them with plain wrapping
// integer adds (Sum32, Sum64); the sum is dequantised once at the end
// (Mean). Integer addition is associative and commutative, so unlike a
// floating-point sum the result does not depend on arrival order,
// concurrency or chunking.
//
// # Quantisation
//
// For a delta x (local − global) with weight w (the participant's example
// count, 1 ≤ w ≤ MaxWeight), element i becomes
//
//	c    = clamp(x[i], −Clip, +Clip)     // clip the unweighted delta
//	y    = c · (Scale · w)               // weight, then scale (float64)
//	q[i] = round_stochastic(y) mod 2^Bits
//
// Clipping happens before weighting: Clip bounds each coordinate of a
// participant's own delta, whatever its example count, and the weighted value
// is then bounded by Clip·w. This is the same as clamp(w·x[i], ±Clip·w).
// Clipping after weighting instead would clip large participants harder than
// small ones. NaN and ±Inf are refused (with the index), never clipped.
//
// Stochastic rounding sends |y| to ⌊|y|⌋ + 1 with probability frac(|y|) and
// to ⌊|y|⌋ otherwise, then restores the sign, so E[q] = y: rounding errors
// average out over participants instead of accumulating a bias. (Rounding
// the magnitude keeps it symmetric, q(−y) = −q(y) for the same draw, and
// exact: frac(|y|) is computed without rounding.) Exactly one Uint64 of the random source is
// consumed per element, in index order, so quantising a vector in pieces with
// the same source gives the same result as in one call, and a seeded
// *rand.ChaCha8 makes tests reproducible. The draw is compared with frac(y)
// at 63-bit resolution, so the bias is below 2^-63 of one quantum. In
// production, seed the source from crypto/rand.
//
// Two's complement: a negative q is stored as 2^Bits + q. The sum is read back
// as a signed integer, which is correct as long as the true (integer) sum lies
// in (−2^(Bits−1), 2^(Bits−1)); intermediate sums may wrap freely.
//
// # No wrap-around
//
// Params.Validate refuses parameters for which the sum of MaxParticipants
// updates of weight MaxWeight, each clipped to ±Clip, could leave that range:
// it requires
//
//	MaxParticipants · MaxAbs(MaxWeight) ≤ 2^(Bits−1) − 1,
//	MaxAbs(w) = ⌈Clip · (Scale · w)⌉ (computed in float64 exactly as Quantise does)
//
// and says which value of each field would fit. MaxAbs(w) is a true bound on
// |q[i]| for weight w: float64 multiplication is monotone, so no clipped
// value can round above it. Sum32 and Sum64 enforce the rest: at most
// MaxParticipants updates, each with 1 ≤ weight ≤ MaxWeight and every element
// within ±MaxAbs(weight). The range check means a malicious participant cannot
// wrap the sum either (while the aggregator sees updates in plaintext; see
// below).
//
// In a 32-bit ring this is a real constraint: Clip · Scale · MaxWeight ·
// MaxParticipants must stay below 2^31. With Clip 1 and Scale 2^16,
// MaxWeight · MaxParticipants must stay below 2^15.
//
// # Error bound
//
// Let W = Σ w_k over the n added updates and ref = Σ w_k·c_k / W the exact
// weighted mean of the clipped deltas. Each q_k differs from the float64 y_k
// by less than 1, and the ring sum is exact, so per coordinate
//
//	|Σ q_k − Σ y_k| < n                              (exact integers vs float64 y_k)
//	|Mean − ref|   ≤ n / (Scale · W) + ε
//
// where ε covers float64 rounding of y_k (≤ 2^-52·|y_k| each) and of the final
// division (≤ 2^-51·|Mean|), plus 2^-24·|Mean| for the float32 Mean. The
// typical error is far smaller: stochastic rounding errors are independent
// and zero-mean, so their sum has a standard deviation of at most
// √n / (2 · Scale · W). Clipping adds a systematic
// error of at most Σ w_k · max(0, |x_k| − Clip) / W against the unclipped
// weighted mean.
//
// # Kernels
//
// The aggregator's hot loops, the wrapping vector add (and subtract, for
// unmasking) and the range check of Sum.Add, are behind the Kernel
// interface: DefaultKernel32 and DefaultKernel64 are plain Go loops
// (GenericKernel) and can be replaced, before any Sum is created, by a SIMD
// implementation. Every Sum keeps the kernel it was created with.
//
// # Secure aggregation
//
// The ring is the one SecAgg(+) masks in: a participant would send
// q + Σ masks mod 2^Bits, with pairwise masks that cancel in the sum; the
// aggregator unmasks by adding and subtracting PRG outputs with the same
// Kernel (Add, Sub). Masked vectors are uniformly distributed, so the range
// check of Sum.Add cannot apply to them: with masking, the no-wrap guarantee
// rests on Validate's bound and on participants quantising honestly.
//
// # Wire format
//
// Encode32/Encode64 write ring elements little-endian, 4 or 8 bytes each: the
// data section of a U32 or U64 safetensors tensor. Decode32/Decode64 invert
// them and refuse a length that is not exactly the expected one.
//
// Errors name the field or element index, never model values. The package
// uses only the standard library: it runs inside a TEE.
package fixedpoint
