package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// writeChunk is how many bytes of tensor data are encoded per Write call.
const writeChunk = 64 << 10

// WriteSafetensors writes m's canonical safetensors encoding to w and returns
// the number of bytes written. Canonical: 8-byte little-endian header length;
// a JSON header with keys sorted bytewise, a "__metadata__": {"format":"pt"}
// entry, every tensor F32 with data_offsets contiguous in name order, padded
// with spaces to a multiple of 8 bytes; then the little-endian data in name
// order. The same model always gives the same bytes.
func WriteSafetensors(w io.Writer, m *Model) (int64, error) {
	if err := m.Validate(); err != nil {
		return 0, fmt.Errorf("safetensors: write: %w", err)
	}
	hdr := canonicalHeader(m.Spec())
	buf := make([]byte, prefixLen, max(prefixLen+len(hdr), writeChunk))
	binary.LittleEndian.PutUint64(buf, uint64(len(hdr)))
	buf = append(buf, hdr...)
	var total int64
	flush := func() error {
		n, err := w.Write(buf)
		total += int64(n)
		buf = buf[:0]
		if err != nil {
			return fmt.Errorf("safetensors: write: %w", err)
		}
		return nil
	}
	for _, t := range m.Tensors {
		for _, v := range t.Data {
			if len(buf)+f32Size > cap(buf) {
				if err := flush(); err != nil {
					return total, err
				}
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	if err := flush(); err != nil {
		return total, err
	}
	return total, nil
}

// EncodeSafetensors returns m's canonical encoding (see WriteSafetensors), or
// nil if m is not valid (see Model.Validate; WriteSafetensors reports why).
func EncodeSafetensors(m *Model) []byte {
	if m.Validate() != nil {
		return nil
	}
	var b bytes.Buffer
	b.Grow(int(SafetensorsSize(m.Spec())))
	if _, err := WriteSafetensors(&b, m); err != nil {
		return nil
	}
	return b.Bytes()
}

// WriteRawSafetensors writes the canonical encoding of a tensor set with the
// given spec whose every tensor has the given dtype and whose data section
// is data (little-endian elements in flat spec order, e.g. from
// fixedpoint.Encode32). It returns the number of bytes written.
func WriteRawSafetensors(w io.Writer, spec Spec, dtype Dtype, data []byte) (int64, error) {
	if err := spec.Validate(); err != nil {
		return 0, fmt.Errorf("safetensors: write: %w", err)
	}
	if dtype.Size() == 0 {
		return 0, fmt.Errorf("safetensors: write: dtype %q %w", dtype, ErrUnsupportedDtype)
	}
	if want := spec.NumParams() * dtype.Size(); len(data) != want {
		return 0, fmt.Errorf("safetensors: write: %d data bytes, spec needs %d of %s", len(data), want, dtype)
	}
	hdr := canonicalHeaderOf(spec, dtype)
	buf := binary.LittleEndian.AppendUint64(make([]byte, 0, prefixLen+len(hdr)), uint64(len(hdr)))
	n, err := w.Write(append(buf, hdr...))
	total := int64(n)
	if err == nil {
		n, err = w.Write(data)
		total += int64(n)
	}
	if err != nil {
		return total, fmt.Errorf("safetensors: write: %w", err)
	}
	return total, nil
}

// SafetensorsSizeOf returns the exact size of WriteRawSafetensors's output
// for spec and dtype, or -1 if either is not valid.
func SafetensorsSizeOf(spec Spec, dtype Dtype) int64 {
	if spec.Validate() != nil || dtype.Size() == 0 {
		return -1
	}
	return prefixLen + int64(len(canonicalHeaderOf(spec, dtype))) + int64(spec.NumParams())*int64(dtype.Size())
}

// SafetensorsSize returns the exact size of the canonical encoding of any
// model with this spec, or -1 if spec is not valid (see Spec.Validate).
func SafetensorsSize(spec Spec) int64 {
	if spec.Validate() != nil {
		return -1
	}
	return prefixLen + int64(len(canonicalHeader(spec))) + int64(spec.NumParams())*f32Size
}

// SHA256 returns the SHA-256 of m's canonical encoding, computed without
// materialising it. It returns the zero value if m is not valid.
func SHA256(m *Model) [32]byte {
	h := sha256.New()
	if _, err := WriteSafetensors(h, m); err != nil {
		return [32]byte{}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
