package fixedpoint

import (
	"math"
	"math/rand/v2"
	"testing"
)

// seeded returns a ChaCha8 source whose seed is derived from the given words.
func seeded(words ...uint64) *rand.ChaCha8 {
	var seed [32]byte
	for i, w := range words {
		for j := range 8 {
			seed[(8*i+j)%32] ^= byte(w >> (8 * j))
		}
	}
	return rand.NewChaCha8(seed)
}

// constSource is a caller-supplied stream that always returns the same word:
// 0 always rounds up (when frac(y) > 0), MaxUint64 always rounds down.
type constSource uint64

func (c constSource) Uint64() uint64 { return uint64(c) }

// randDelta returns n float32 values of mixed magnitudes and signs, with some
// exact zeros and some values beyond ±clip.
func randDelta(rng *rand.Rand, n int, clip float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(10) {
		case 0:
			x[i] = 0
		case 1:
			x[i] = float32(clip * (1 + 3*rng.Float64()) * sign(rng)) // clipped
		default:
			x[i] = float32(rng.NormFloat64() * clip / 3 * math.Pow(10, -float64(rng.IntN(4))))
		}
	}
	return x
}

func sign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// clamp is the reference clipping.
func clamp(v float32, clip float64) float64 { return math.Max(-clip, math.Min(clip, float64(v))) }

// signed32 and signed64 read ring elements as two's-complement integers.
func signed32(v uint32) int64 { return int64(int32(v)) }
func signed64(v uint64) int64 { return int64(v) }

// quantiseAny quantises into a fresh vector of the ring p.Bits selects and
// returns it as []uint64 (32-bit elements zero-extended) along with the
// adder for the matching Sum.
func quantiseAny(t testing.TB, x []float32, w uint64, p Params, src rand.Source) []uint64 {
	t.Helper()
	out := make([]uint64, len(x))
	switch p.Bits {
	case 32:
		q := make([]uint32, len(x))
		if err := Quantise32(q, x, w, p, src); err != nil {
			t.Fatal(err)
		}
		for i, v := range q {
			out[i] = uint64(v)
		}
	case 64:
		if err := Quantise64(out, x, w, p, src); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// anySum is a Sum32 or Sum64 behind one interface, with elements as uint64.
type anySum struct {
	s32 *Sum32
	s64 *Sum64
}

func newAnySum(t testing.TB, n int, p Params) anySum {
	t.Helper()
	var s anySum
	var err error
	if p.Bits == 32 {
		s.s32, err = NewSum32(n, p)
	} else {
		s.s64, err = NewSum64(n, p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s anySum) add(q []uint64, w uint64) error {
	if s.s32 != nil {
		q32 := make([]uint32, len(q))
		for i, v := range q {
			q32[i] = uint32(v)
		}
		return s.s32.Add(q32, w)
	}
	return s.s64.Add(q, w)
}

// signedRaw returns the ring sum as signed integers.
func (s anySum) signedRaw() []int64 {
	var out []int64
	if s.s32 != nil {
		for _, v := range s.s32.Raw() {
			out = append(out, signed32(v))
		}
		return out
	}
	for _, v := range s.s64.Raw() {
		out = append(out, signed64(v))
	}
	return out
}

func (s anySum) mean32(dst []float32) error {
	if s.s32 != nil {
		return s.s32.Mean(dst)
	}
	return s.s64.Mean(dst)
}

func (s anySum) mean64(dst []float64) error {
	if s.s32 != nil {
		return s.s32.MeanFloat64(dst)
	}
	return s.s64.MeanFloat64(dst)
}

func (s anySum) count() int {
	if s.s32 != nil {
		return s.s32.Count()
	}
	return s.s64.Count()
}

func (s anySum) totalWeight() uint64 {
	if s.s32 != nil {
		return s.s32.TotalWeight()
	}
	return s.s64.TotalWeight()
}
