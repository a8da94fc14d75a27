package dp

import (
	crand "crypto/rand"
	"fmt"
	"math"
	"math/rand/v2"
)

// NewSource returns a ChaCha8 generator seeded with 32 bytes from
// crypto/rand. ChaCha8 is a cryptographically secure stream cipher used as
// a generator: without the seed, its outputs cannot be predicted.
func NewSource() (*rand.ChaCha8, error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("dp: seeding the noise generator: %w", err)
	}
	return rand.NewChaCha8(seed), nil
}

// Gaussian draws standard normal values from a source of uniform 64-bit
// words with Marsaglia's polar method. It is not safe for concurrent use.
type Gaussian struct {
	src   rand.Source
	spare float64
	has   bool
}

// NewGaussian draws from src (use NewSource outside tests).
func NewGaussian(src rand.Source) *Gaussian { return &Gaussian{src: src} }

// uniform is a uniform value in (−1, 1) with 53 random bits, never ±1 or 0
// exactly.
func (g *Gaussian) uniform() float64 {
	return ((float64(g.src.Uint64()>>11)+0.5)/(1<<53))*2 - 1
}

// Next returns one N(0, 1) value.
func (g *Gaussian) Next() float64 {
	if g.has {
		g.has = false
		return g.spare
	}
	for {
		u, v := g.uniform(), g.uniform()
		s := u*u + v*v
		if s >= 1 || s == 0 {
			continue
		}
		f := math.Sqrt(-2 * math.Log(s) / s)
		g.spare, g.has = v*f, true
		return u * f
	}
}

// AddNoise adds independent N(0, std²) noise to every element of v outside
// skip. std must be finite and ≥ 0.
func AddNoise(v []float64, std float64, skip []Span, g *Gaussian) error {
	if !(std >= 0) || math.IsInf(std, 0) {
		return fmt.Errorf("dp: noise standard deviation %v, want a finite number ≥ 0", std)
	}
	return Ranges(len(v), skip, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v[i] += std * g.Next()
		}
	})
}

// AddNoise32 is AddNoise on a float32 vector (local DP on an update).
func AddNoise32(v []float32, std float64, skip []Span, g *Gaussian) error {
	if !(std >= 0) || math.IsInf(std, 0) {
		return fmt.Errorf("dp: noise standard deviation %v, want a finite number ≥ 0", std)
	}
	return Ranges(len(v), skip, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v[i] = float32(float64(v[i]) + std*g.Next())
		}
	})
}
