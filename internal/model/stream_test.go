package model

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// collector is a Sink that rebuilds the flat vector and checks that calls
// arrive in order and cover every parameter exactly once.
type collector struct {
	flat []float32
	next int
}

func (c *collector) sink(off int, values []float32) error {
	if off != c.next {
		return fmt.Errorf("sink called at offset %d, want %d", off, c.next)
	}
	c.flat = append(c.flat, values...)
	c.next += len(values)
	return nil
}

// streamChunks feeds b to a new decoder in chunks of the given sizes (cycled)
// and returns the collected values and the first error (from Write or Close).
func streamChunks(spec Spec, limits Limits, b []byte, sizes []int) ([]float32, error) {
	var c collector
	d := NewStreamDecoder(spec, limits, c.sink)
	for i := 0; len(b) > 0; i++ {
		k := min(max(sizes[i%len(sizes)], 1), len(b))
		n, err := d.Write(b[:k])
		if err != nil {
			return c.flat, err
		}
		if n != k {
			return c.flat, fmt.Errorf("Write consumed %d of %d bytes without error", n, k)
		}
		b = b[k:]
	}
	return c.flat, d.Close()
}

func TestStreamChunkingMatchesDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	chunkings := map[string]func() []int{
		"one byte":   func() []int { return []int{1} },
		"three":      func() []int { return []int{3} },
		"five/seven": func() []int { return []int{5, 7} },
		"whole":      func() []int { return []int{1 << 30} },
		"random": func() []int {
			s := make([]int, 1+rng.IntN(8))
			for i := range s {
				s[i] = 1 + rng.IntN(40)
			}
			return s
		},
	}
	for i := range 300 {
		m := randModel(t, rng)
		b := EncodeSafetensors(m)
		want, err := DecodeSafetensors(b, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for name, sizes := range chunkings {
			got, err := streamChunks(m.Spec(), Limits{}, b, sizes())
			if err != nil {
				t.Fatalf("model %d, %s chunks: %v", i, name, err)
			}
			if !sameBits(got, want.Flat()) {
				t.Fatalf("model %d, %s chunks: values differ from DecodeSafetensors", i, name)
			}
		}
	}
}

func TestStreamLargeModelBatches(t *testing.T) {
	// More values than one sink batch, fed in chunks that split floats.
	data := make([]float32, 3*streamBatch+5)
	for i := range data {
		data[i] = float32(i)
	}
	m := mustNew(t, Tensor{Name: "a", Shape: []int{7}, Data: data[:7]}, Tensor{Name: "b", Shape: []int{len(data) - 7}, Data: data[7:]})
	got, err := streamChunks(m.Spec(), Limits{}, EncodeSafetensors(m), []int{10001, 3, 65536})
	if err != nil || !sameBits(got, data) {
		t.Fatalf("streamed %d values, err %v; want %d values in order", len(got), err, len(data))
	}
}

func TestStreamAcceptsExternalHeaderInCanonicalLayout(t *testing.T) {
	hdr := `{"__metadata__":{"format":"pt"},"bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"weight":{"shape":[2],"dtype":"F32","data_offsets":[4,12]}}`
	got, err := streamChunks(smallModel(t).Spec(), Limits{}, raw(hdr, f32le(0.5, 1, -2)...), []int{2})
	if err != nil || !sameBits(got, []float32{0.5, 1, -2}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestStreamRejects(t *testing.T) {
	spec := smallModel(t).Spec()
	good := EncodeSafetensors(smallModel(t))
	other := func(tensors ...Tensor) []byte { return EncodeSafetensors(mustNew(t, tensors...)) }
	bias := Tensor{Name: "bias", Shape: []int{1}, Data: []float32{0}}
	tests := []struct {
		name    string
		in      []byte
		limits  Limits
		wantIs  error
		wantMsg string
	}{
		{"wrong name", other(bias, Tensor{Name: "weights", Shape: []int{2}, Data: []float32{1, 2}}), Limits{}, ErrSpecMismatch, `tensor "weight" missing`},
		{"extra tensor", other(bias, Tensor{Name: "weight", Shape: []int{2}, Data: []float32{1, 2}}, Tensor{Name: "x", Shape: []int{}, Data: []float32{1}}), Limits{}, ErrSpecMismatch, `unexpected tensor "x"`},
		{"wrong shape", other(bias, Tensor{Name: "weight", Shape: []int{3}, Data: []float32{1, 2, 3}}), Limits{}, ErrSpecMismatch, `tensor "weight" has shape [3], want [2]`},
		{"transposed shape", other(bias, Tensor{Name: "weight", Shape: []int{2, 1}, Data: []float32{1, 2}}), Limits{}, ErrSpecMismatch, `has shape [2 1], want [2]`},
		{"non-canonical order", raw(`{"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32le(1, -2, 0.5)...),
			Limits{}, ErrSpecMismatch, `tensor "bias" starts at data byte 8, canonical layout puts it at 0`},
		{"F16", raw(`{"bias":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, 0, 0), Limits{}, ErrUnsupportedDtype, `tensor "bias": dtype F16 not supported`},
		{"extra bytes", append(good[:len(good):len(good)], 0), Limits{}, ErrTooLong, "stream longer than its header declares"},
		{"truncated data", good[:len(good)-3], Limits{}, ErrTruncated, "truncated: got 9 of 12 data bytes"},
		{"truncated header", good[:20], Limits{}, ErrTruncated, "header bytes"},
		{"empty", nil, Limits{}, ErrTruncated, "got 0 of 8 prefix bytes"},
		{"header too large", good, Limits{MaxHeaderBytes: 64}, ErrTooLarge, "exceeds the limit of 64"},
		{"malformed", raw(`{"bias":[]}`), Limits{}, ErrMalformed, ""},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 4, 1 << 20} {
			t.Run(fmt.Sprintf("%s/chunk %d", tt.name, chunk), func(t *testing.T) {
				_, err := streamChunks(spec, tt.limits, tt.in, []int{chunk})
				if !errors.Is(err, tt.wantIs) || !strings.Contains(fmt.Sprint(err), tt.wantMsg) {
					t.Fatalf("error = %v, want errors.Is %q and containing %q", err, tt.wantIs, tt.wantMsg)
				}
			})
		}
	}
}

func TestStreamErrorsAreSticky(t *testing.T) {
	good := EncodeSafetensors(smallModel(t))
	d := NewStreamDecoder(smallModel(t).Spec(), Limits{}, nil)
	if n, err := d.Write(append(good[:len(good):len(good)], 1, 2)); !errors.Is(err, ErrTooLong) || n != len(good) {
		t.Fatalf("Write(too long) = %d, %v; want %d, ErrTooLong", n, err, len(good))
	}
	if _, err := d.Write([]byte{1}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Write after error = %v, want the same error", err)
	}
	if err := d.Close(); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Close after error = %v, want the same error", err)
	}
}

func TestStreamSinkErrorStops(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	d := NewStreamDecoder(smallModel(t).Spec(), Limits{}, func(int, []float32) error { calls++; return boom })
	if _, err := d.Write(EncodeSafetensors(smallModel(t))); err != boom {
		t.Fatalf("Write() = %v, want the sink's error unchanged", err)
	}
	if err := d.Close(); err != boom || calls != 1 {
		t.Fatalf("Close() = %v after %d sink calls; want the sink error after 1 call", err, calls)
	}
}

func TestStreamWriteAfterClose(t *testing.T) {
	d := NewStreamDecoder(smallModel(t).Spec(), Limits{}, nil)
	if _, err := d.Write(EncodeSafetensors(smallModel(t))); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte{0}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestStreamInvalidSpec(t *testing.T) {
	d := NewStreamDecoder(Spec{{"b", nil}, {"a", nil}}, Limits{}, nil)
	if _, err := d.Write([]byte{0}); err == nil || !strings.Contains(err.Error(), "sorted") {
		t.Fatalf("Write with unsorted spec = %v", err)
	}
}

func TestStreamEmptySpec(t *testing.T) {
	b := EncodeSafetensors(mustNew(t))
	if _, err := streamChunks(Spec{}, Limits{}, b, []int{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := streamChunks(Spec{}, Limits{}, append(b, 0), []int{1}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("extra byte after empty model: %v", err)
	}
}
