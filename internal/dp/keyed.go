package dp

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// keyedChunk is how many coordinates share one generator in KeyedNoise.
const keyedChunk = 4096

// KeyedNoise is Gaussian noise indexed by coordinate: coordinate i always
// gets the same value, whichever block of coordinates asks for it and how
// often, so that a delta read block by block (and read twice) carries one
// noise draw per coordinate. Coordinates are grouped in chunks of 4096; the
// generator of chunk c is ChaCha8 seeded with SHA-256(key ‖ c), and the key
// is 32 bytes from crypto/rand (NewKeyedNoise). It is safe for concurrent use.
type KeyedNoise struct {
	key [32]byte
	std float64
}

// NewKeyedNoise returns noise of standard deviation std with a fresh key.
func NewKeyedNoise(std float64) (*KeyedNoise, error) {
	src, err := NewSource()
	if err != nil {
		return nil, err
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], src.Uint64())
	binary.LittleEndian.PutUint64(key[8:], src.Uint64())
	binary.LittleEndian.PutUint64(key[16:], src.Uint64())
	binary.LittleEndian.PutUint64(key[24:], src.Uint64())
	return NewKeyedNoiseWithKey(key, std)
}

// NewKeyedNoiseWithKey is NewKeyedNoise with a given key (tests).
func NewKeyedNoiseWithKey(key [32]byte, std float64) (*KeyedNoise, error) {
	if !(std >= 0) || math.IsInf(std, 0) {
		return nil, fmt.Errorf("dp: noise standard deviation %v, want a finite number ≥ 0", std)
	}
	return &KeyedNoise{key: key, std: std}, nil
}

// Std is the noise's standard deviation.
func (k *KeyedNoise) Std() float64 { return k.std }

// Add adds the noise of coordinates [lo, lo+len(dst)) to dst.
func (k *KeyedNoise) Add(lo int, dst []float64) {
	if len(dst) == 0 || lo < 0 {
		return
	}
	hi := lo + len(dst)
	for c := lo / keyedChunk; c*keyedChunk < hi; c++ {
		var seed [40]byte
		copy(seed[:], k.key[:])
		binary.LittleEndian.PutUint64(seed[32:], uint64(c))
		g := NewGaussian(rand.NewChaCha8(sha256.Sum256(seed[:])))
		for i := c * keyedChunk; i < min((c+1)*keyedChunk, hi); i++ {
			v := k.std * g.Next()
			if i >= lo {
				dst[i-lo] += v
			}
		}
	}
}
