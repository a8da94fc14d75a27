package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// raw builds a safetensors byte stream from a literal header and data bytes.
func raw(header string, data ...byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// f32le encodes values as little-endian float32 bytes.
func f32le(values ...float32) []byte {
	var b []byte
	for _, v := range values {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// sameBits reports whether a and b hold bit-identical values (NaN-safe).
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// assertSameModel fails unless a and b have the same spec and bit-identical data.
func assertSameModel(t *testing.T, got, want *Model) {
	t.Helper()
	if err := got.Spec().Equal(want.Spec()); err != nil {
		t.Fatalf("spec differs: %v", err)
	}
	if !sameBits(got.Flat(), want.Flat()) {
		t.Fatalf("values differ")
	}
}

// mustNew is New for test fixtures known to be valid.
func mustNew(t testing.TB, tensors ...Tensor) *Model {
	t.Helper()
	m, err := New(tensors...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randModel returns a model with 1–5 tensors of random shapes (including
// scalars and empty tensors) and random values, including special floats.
func randModel(t testing.TB, rng *rand.Rand) *Model {
	t.Helper()
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-45, math.MaxFloat32, float32(math.Inf(1)), float32(math.NaN())}
	var tensors []Tensor
	for i := range 1 + rng.IntN(5) {
		shape := make([]int, rng.IntN(4))
		for j := range shape {
			shape[j] = rng.IntN(6)
		}
		data := make([]float32, shapeElems(shape))
		for j := range data {
			if rng.IntN(10) == 0 {
				data[j] = specials[rng.IntN(len(specials))]
			} else {
				data[j] = float32(rng.NormFloat64())
			}
		}
		tensors = append(tensors, Tensor{Name: fmt.Sprintf("t%d.%c", i, 'a'+rng.IntN(26)), Shape: shape, Data: data})
	}
	return mustNew(t, tensors...)
}

// smallModel is bias [1] = 0.5 and weight [2] = (1, −2).
func smallModel(t testing.TB) *Model {
	return mustNew(t,
		Tensor{Name: "weight", Shape: []int{2}, Data: []float32{1, -2}},
		Tensor{Name: "bias", Shape: []int{1}, Data: []float32{0.5}},
	)
}
