package bench

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/internal/model"
)

// ChunkSize is the size of the chunks an update stream is fed in: the
// default chunk size of the gRPC streams (internal/stream.DefaultChunkSize).
const ChunkSize = 1 << 20

// UpdateSpec returns the spec of a d-parameter model: "bias" [1000] and
// "weight" [d/1000 − 1, 1000] when d is a multiple of 1000 of at least 2000,
// otherwise a single "weight" [d].
func UpdateSpec(d int) model.Spec {
	const cols = 1000
	if d%cols != 0 || d < 2*cols {
		return model.Spec{{Name: "weight", Shape: []int{d}}}
	}
	return model.Spec{{Name: "bias", Shape: []int{cols}}, {Name: "weight", Shape: []int{d/cols - 1, cols}}}
}

// UpdateModel returns a d-parameter model of UpdateSpec(d) with values from
// Fill(seed) scaled to the size of a typical update (|v| < 0.01).
func UpdateModel(d int, seed uint64) (*model.Model, error) {
	spec := UpdateSpec(d)
	tensors := make([]model.Tensor, len(spec))
	for i, ts := range spec {
		n := 1
		for _, k := range ts.Shape {
			n *= k
		}
		data := make([]float32, n)
		Fill(data, seed+uint64(i))
		for j := range data {
			data[j] *= 0.01
		}
		tensors[i] = model.Tensor{Name: ts.Name, Shape: ts.Shape, Data: data}
	}
	return model.New(tensors...)
}

// EncodedUpdate returns the canonical safetensors encoding of
// UpdateModel(d, seed).
func EncodedUpdate(b *testing.B, d int, seed uint64) []byte {
	b.Helper()
	m, err := UpdateModel(d, seed)
	if err != nil {
		Fatal(b, "update model: %v", err)
	}
	enc := model.EncodeSafetensors(m)
	if enc == nil {
		Fatal(b, "EncodeSafetensors returned nil")
	}
	return enc
}

// UpdateCopy measures a plain copy of the encoded d-parameter update (4d
// bytes plus the header) into another buffer. It is the reference row of
// the Update and Safetensors groups. Memory traffic: twice the bytes.
func UpdateCopy(b *testing.B, d int) {
	src := EncodedUpdate(b, d, 5)
	dst := make([]byte, len(src))
	copy(dst, src) // fault in dst's pages before timing
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		copy(dst, src)
	}
	if !bytes.Equal(dst, src) {
		Fatal(b, "copy did not copy")
	}
	reportMemBandwidth(b, 2*int64(len(src)))
}

// UpdateSHA256 measures SHA-256 of the encoded d-parameter update, written to
// the hash in ChunkSize chunks as the Ingestor receives it. Baseline:
// UpdateCopy.
func UpdateSHA256(b *testing.B, d int) {
	src := EncodedUpdate(b, d, 5)
	want := sha256.Sum256(src)
	h := sha256.New()
	var got [sha256.Size]byte
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		h.Reset()
		for off := 0; off < len(src); off += ChunkSize {
			h.Write(src[off:min(off+ChunkSize, len(src))])
		}
		h.Sum(got[:0])
	}
	if got != want {
		Fatal(b, "hash mismatch")
	}
}

// UpdateIngest measures the aggregator's ingest path for one d-parameter
// update: fedavg.NewIngestor, Write in ChunkSize chunks, Finish. That is
// header validation against the spec, SHA-256, decoding into a reused
// staging buffer, the finite-value check and the running L2 norm under a
// (non-binding) MaxNorm. Baseline: UpdateSHA256 of the same bytes.
func UpdateIngest(b *testing.B, d int) {
	src := EncodedUpdate(b, d, 5)
	sum := sha256.Sum256(src)
	spec := UpdateSpec(d)
	buf := make([]float32, d)
	Fill(buf, 6) // fault in the staging buffer before timing, as a pooled buffer would be
	limits := fedavg.Limits{MaxBytes: int64(len(src)), MaxNorm: 1e6}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	var staged *fedavg.Staged
	for b.Loop() {
		in, err := fedavg.NewIngestor(spec, buf, int64(len(src)), sum[:], limits)
		if err != nil {
			Fatal(b, "NewIngestor: %v", err)
		}
		for off := 0; off < len(src); off += ChunkSize {
			if err := in.Write(src[off:min(off+ChunkSize, len(src))]); err != nil {
				Fatal(b, "Write: %v", err)
			}
		}
		if staged, err = in.Finish(); err != nil {
			Fatal(b, "Finish: %v", err)
		}
	}
	if staged == nil || staged.SHA256 != sum || staged.Norm == 0 {
		Fatal(b, "ingest staged %+v", staged)
	}
}
