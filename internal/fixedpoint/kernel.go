package fixedpoint

// Kernel is the ring's vector arithmetic: the aggregator's hot loops. A SIMD
// implementation (package aggregator/kernels) can replace GenericKernel;
// embedding GenericKernel supplies any method it does not override. Every
// method must give exactly the results of GenericKernel. Add and Sub require
// len(src) == len(dst) and are called with the Sum's lock held, never
// concurrently on the same dst. OutOfRange is the guard against wrap-around:
// a wrong answer there voids the no-wrap guarantee.
type Kernel[T Word] interface {
	// Add sets dst[i] = dst[i] + src[i] mod 2^bits.
	Add(dst, src []T)
	// Sub sets dst[i] = dst[i] − src[i] mod 2^bits (SecAgg unmasking).
	Sub(dst, src []T)
	// OutOfRange returns the index of the first element of q whose signed
	// (two's-complement) value lies outside [−bound, +bound], or −1.
	// bound < 2^(bits−1).
	OutOfRange(q []T, bound T) int
}

// GenericKernel is the reference Kernel: plain Go loops.
type GenericKernel[T Word] struct{}

// Add sets dst[i] += src[i], wrapping.
func (GenericKernel[T]) Add(dst, src []T) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// Sub sets dst[i] −= src[i], wrapping.
func (GenericKernel[T]) Sub(dst, src []T) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] -= src[i]
	}
}

// OutOfRange returns the first index of q outside ±bound, or −1. Since bound
// < 2^(bits−1), 2·bound fits in T and signed(v) ∈ [−bound, bound] ⇔
// v + bound ≤ 2·bound (mod 2^bits).
func (GenericKernel[T]) OutOfRange(q []T, bound T) int {
	width := 2 * bound
	for i, v := range q {
		if v+bound > width {
			return i
		}
	}
	return -1
}

// The kernels new Sums use. Replace them only at start-up, before any Sum is
// created (e.g. from the aggregator's main); each Sum keeps the kernel it was
// created with.
var (
	DefaultKernel32 Kernel[uint32] = GenericKernel[uint32]{}
	DefaultKernel64 Kernel[uint64] = GenericKernel[uint64]{}
)
