package model

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// fuzzLimits keeps fuzz inputs cheap while exercising the limit checks.
var fuzzLimits = Limits{MaxHeaderBytes: 4096, MaxTotalBytes: 1 << 20}

// addSeeds adds valid encodings (canonical and external layouts) and a few
// near misses to f's corpus; extra are appended to each seed's arguments.
func addSeeds(f *testing.F, extra ...any) {
	rng := rand.New(rand.NewPCG(5, 6))
	seeds := [][]byte{
		EncodeSafetensors(smallModel(f)),
		EncodeSafetensors(mustNew(f)),
		raw(`{"__metadata__":{"format":"pt"},"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32le(1, -2, 0.5)...),
		raw(`{"bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"weight":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32le(0.5, 1, -2)...),
		raw(`{"bias":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, 0, 0),
	}
	for range 5 {
		seeds = append(seeds, EncodeSafetensors(randModel(f, rng)))
	}
	for _, s := range seeds {
		f.Add(append([]any{s}, extra...)...)
	}
}

// FuzzDecodeSafetensors checks that arbitrary bytes never panic, that
// DecodeSafetensors and ReadSafetensors agree, and that whatever is accepted
// re-encodes to an equivalent model.
func FuzzDecodeSafetensors(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeSafetensors(b, fuzzLimits)
		rm, rerr := ReadSafetensors(bytes.NewReader(b), fuzzLimits)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("Decode error %v, Read error %v", err, rerr)
		}
		if err != nil {
			return
		}
		assertSameModel(t, rm, m)
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid model: %v", err)
		}
		again, err := DecodeSafetensors(EncodeSafetensors(m), Limits{})
		if err != nil {
			t.Fatalf("re-encoding an accepted model does not decode: %v", err)
		}
		assertSameModel(t, again, m)
	})
}

// FuzzStreamDecoder checks that arbitrary bytes in arbitrary chunks never
// panic, that chunking does not change the outcome, and that every stream
// accepted for a spec is a valid encoding of a model with that spec whose
// values are exactly those streamed.
func FuzzStreamDecoder(f *testing.F) {
	addSeeds(f, uint8(1))
	addSeeds(f, uint8(3))
	spec := smallModel(f).Spec()
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		whole, err := streamChunks(spec, fuzzLimits, b, []int{len(b)})
		chunked, cerr := streamChunks(spec, fuzzLimits, b, []int{int(chunk), 1, int(chunk) * 7})
		if sentinel(err) != sentinel(cerr) {
			t.Fatalf("whole stream: %v; chunked: %v", err, cerr)
		}
		if err != nil {
			return
		}
		if !sameBits(whole, chunked) {
			t.Fatal("chunking changed the values")
		}
		m, derr := DecodeSafetensors(b, fuzzLimits)
		if derr != nil {
			t.Fatalf("stream accepted what DecodeSafetensors rejects: %v", derr)
		}
		if err := m.Spec().Equal(spec); err != nil {
			t.Fatalf("stream accepted another spec: %v", err)
		}
		if !sameBits(m.Flat(), whole) {
			t.Fatal("streamed values differ from DecodeSafetensors")
		}
	})
}

// sentinel names the class of a decoding error (nil for success).
func sentinel(err error) error {
	for _, s := range []error{ErrMalformed, ErrUnsupportedDtype, ErrTooLarge, ErrTruncated, ErrTooLong, ErrSpecMismatch} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}
