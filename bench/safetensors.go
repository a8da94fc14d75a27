package bench

import (
	"testing"

	"github.com/confed/confed/internal/model"
)

// SafetensorsEncode measures model.EncodeSafetensors of a d-parameter model
// (validation, canonical header, little-endian data into a new buffer).
// Bytes per op: the encoding's size. Baseline: UpdateCopy of the same size.
func SafetensorsEncode(b *testing.B, d int) {
	m, err := UpdateModel(d, 7)
	if err != nil {
		Fatal(b, "update model: %v", err)
	}
	size := model.SafetensorsSize(m.Spec())
	b.SetBytes(size)
	b.ReportAllocs()
	var enc []byte
	for b.Loop() {
		enc = model.EncodeSafetensors(m)
	}
	if int64(len(enc)) != size {
		Fatal(b, "encoded %d bytes, want %d", len(enc), size)
	}
}

// SafetensorsDecode measures model.DecodeSafetensors of an encoded
// d-parameter model (header parsing and checks, decoding into new tensors).
// Bytes per op: the encoding's size. Baseline: UpdateCopy of the same size.
func SafetensorsDecode(b *testing.B, d int) {
	enc := EncodedUpdate(b, d, 7)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	var m *model.Model
	for b.Loop() {
		var err error
		if m, err = model.DecodeSafetensors(enc, model.Limits{}); err != nil {
			Fatal(b, "DecodeSafetensors: %v", err)
		}
	}
	if m.NumParams() != d {
		Fatal(b, "decoded %d parameters, want %d", m.NumParams(), d)
	}
}
