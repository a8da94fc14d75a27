package fixedpoint_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
)

func TestU32UpdateThroughSafetensors(t *testing.T) {
	spec := model.Spec{{Name: "bias", Shape: []int{3}}, {Name: "weight", Shape: []int{13, 7}}}
	n := spec.NumParams()
	p := fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 4}
	sum, _ := fixedpoint.NewSum32(n, p)
	rng := rand.New(rand.NewPCG(1, 2))
	ref := make([]float64, n)
	var W float64
	for k, w := range []uint64{200, 100, 700} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.3)
			ref[i] += float64(w) * max(-1, min(1, float64(x[i])))
		}
		W += float64(w)
		q := make([]uint32, n)
		if err := fixedpoint.Quantise32(q, x, w, p, rand.NewChaCha8([32]byte{byte(k)})); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		sz, err := model.WriteRawSafetensors(&buf, spec, model.U32, fixedpoint.Encode32(q))
		if err != nil || sz != model.SafetensorsSizeOf(spec, model.U32) {
			t.Fatal(sz, err)
		}
		if model.SafetensorsSizeOf(spec, model.U32) != model.SafetensorsSize(spec) {
			t.Fatal("U32 and F32 sizes differ")
		}
		// Aggregator: decode in odd-sized chunks into a staging buffer.
		stage := make([]uint32, n)
		dec := model.NewRawStreamDecoder(spec, model.U32, model.Limits{}, func(off int, raw []byte) error {
			return fixedpoint.Decode32(stage[off:off+len(raw)/4], raw)
		})
		b := buf.Bytes()
		for len(b) > 0 {
			c := min(len(b), 1+rng.IntN(11))
			if _, err := dec.Write(b[:c]); err != nil {
				t.Fatal(err)
			}
			b = b[c:]
		}
		if err := dec.Close(); err != nil {
			t.Fatal(err)
		}
		if err := sum.Add(stage, w); err != nil {
			t.Fatal(err)
		}
		// A U32 stream is not a model, and the U32 decoder refuses an F32 one.
		if _, err := model.DecodeSafetensors(buf.Bytes(), model.Limits{}); !errors.Is(err, model.ErrUnsupportedDtype) {
			t.Fatalf("DecodeSafetensors(U32) = %v", err)
		}
		if _, err := model.NewStreamDecoder(spec, model.Limits{}, nil).Write(buf.Bytes()); !errors.Is(err, model.ErrUnsupportedDtype) {
			t.Fatalf("F32 StreamDecoder(U32) = %v", err)
		}
		f32 := model.EncodeSafetensors(must(model.FromFlat(spec, x)))
		if _, err := model.NewRawStreamDecoder(spec, model.U32, model.Limits{}, nil).Write(f32); !errors.Is(err, model.ErrUnsupportedDtype) {
			t.Fatalf("U32 StreamDecoder(F32) = %v", err)
		}
		if _, err := model.NewRawStreamDecoder(spec, model.U64, model.Limits{}, nil).Write(buf.Bytes()); !errors.Is(err, model.ErrUnsupportedDtype) {
			t.Fatalf("U64 StreamDecoder(U32) = %v", err)
		}
	}
	mean := make([]float64, n)
	if err := sum.MeanFloat64(mean); err != nil {
		t.Fatal(err)
	}
	for i := range mean {
		if d := mean[i] - ref[i]/W; d > 3/(p.Scale*W) || d < -3/(p.Scale*W) {
			t.Fatalf("element %d off by %g", i, d)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
