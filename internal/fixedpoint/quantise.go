package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// Word is a ring element: uint32 for Z_{2^32}, uint64 for Z_{2^64}.
type Word interface{ uint32 | uint64 }

// randBatch is how many random words are drawn at a time.
const randBatch = 256

// Quantise32 quantises the delta x with the given weight into dst (same
// length) in the 32-bit ring: dst[i] = round_stochastic(clamp(x[i], ±Clip) ·
// Scale · weight) mod 2^32 (see the package documentation). p.Bits must be 32
// and p valid; 1 ≤ weight ≤ p.MaxWeight. rng supplies the rounding: exactly
// one Uint64 per element, in index order (a *rand.ChaCha8 or any caller
// stream). A NaN or ±Inf is refused with an *ElementError naming its index
// (errors.Is ErrNonFinite). On error dst is unspecified and rng may have been
// advanced.
func Quantise32(dst []uint32, x []float32, weight uint64, p Params, rng rand.Source) error {
	if p.Bits != 32 {
		return fmt.Errorf("fixedpoint: Quantise32 with Params.Bits = %d, want 32", p.Bits)
	}
	return quantise(dst, x, weight, p, rng)
}

// Quantise64 is Quantise32 in the 64-bit ring: p.Bits must be 64.
func Quantise64(dst []uint64, x []float32, weight uint64, p Params, rng rand.Source) error {
	if p.Bits != 64 {
		return fmt.Errorf("fixedpoint: Quantise64 with Params.Bits = %d, want 64", p.Bits)
	}
	return quantise(dst, x, weight, p, rng)
}

func quantise[T Word](dst []T, x []float32, weight uint64, p Params, rng rand.Source) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if len(dst) != len(x) {
		return fmt.Errorf("fixedpoint: quantise: %w: dst has %d elements, x has %d", ErrLength, len(dst), len(x))
	}
	if weight < 1 || weight > p.MaxWeight {
		return fmt.Errorf("fixedpoint: quantise: %w: weight %d, want 1 to MaxWeight = %d", ErrBadWeight, weight, p.MaxWeight)
	}
	if rng == nil {
		return errors.New("fixedpoint: quantise: nil random source")
	}
	clip := p.Clip
	k := p.Scale * float64(weight) // Params.MaxAbs multiplies in the same order
	var rbuf [randBatch]uint64
	for base := 0; base < len(x); base += randBatch {
		xs := x[base:min(base+randBatch, len(x))]
		ds := dst[base : base+len(xs)]
		r := rbuf[:len(xs)]
		fill(r, rng)
		for i, v := range xs {
			if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // exponent all ones: NaN or ±Inf
				return nonFinite(base+i, v)
			}
			c := float64(v)
			if c > clip {
				c = clip
			} else if c < -clip {
				c = -clip
			}
			y := c * k
			// Round |y| up with probability frac(|y|) and restore the sign:
			// for a ≥ 0, a − ⌊a⌋ is exact (Sterbenz) and below 1, which y − ⌊y⌋
			// is not for y in (−½, 0). Compare 63 random bits with frac·2^63
			// (truncated: bias below 2^-63). Branch-free: up is the borrow of
			// r − t, 1 iff r < t.
			a := math.Abs(y)
			fl := math.Floor(a)
			t := uint64(int64((a - fl) * 0x1p63))
			_, up := bits.Sub64(r[i]>>1, t, 0)
			mag := int64(fl) + int64(up)            // |y| < 2^63 (Validate)
			neg := int64(math.Float64bits(y)) >> 63 // −1 if y < 0 (or −0), else 0
			ds[i] = T((mag ^ neg) - neg)            // ±mag, wrapped to two's complement
		}
	}
	return nil
}

// fill draws len(r) words from src, calling *rand.ChaCha8 directly.
func fill(r []uint64, src rand.Source) {
	if c, ok := src.(*rand.ChaCha8); ok {
		for i := range r {
			r[i] = c.Uint64()
		}
		return
	}
	for i := range r {
		r[i] = src.Uint64()
	}
}

func nonFinite(i int, v float32) *ElementError {
	what := "NaN"
	switch {
	case math.IsInf(float64(v), 1):
		what = "+Inf"
	case math.IsInf(float64(v), -1):
		what = "-Inf"
	}
	return &ElementError{Op: "quantise", Index: i, Detail: "is " + what, Err: ErrNonFinite}
}
