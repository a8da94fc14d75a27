package fedavg

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDecodeF32 checks both ways of decoding (the copy on little-endian
// machines and the portable loop) against binary.LittleEndian, bit for bit,
// NaN payloads included.
func TestDecodeF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 4*1001)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	binary.LittleEndian.PutUint32(raw[0:], math.Float32bits(float32(math.Inf(-1))))
	binary.LittleEndian.PutUint32(raw[4:], 0x7fc00001) // a NaN with a payload
	saved := littleEndian
	defer func() { littleEndian = saved }()
	for _, le := range []bool{saved, false} {
		littleEndian = le
		for _, n := range []int{0, 1, 3, 1001} {
			got := make([]float32, n)
			decodeF32(got, raw[:4*n])
			for i, v := range got {
				if want := binary.LittleEndian.Uint32(raw[4*i:]); math.Float32bits(v) != want {
					t.Fatalf("littleEndian=%t n=%d: value %d is %#08x, want %#08x", le, n, i, math.Float32bits(v), want)
				}
			}
		}
	}
}
