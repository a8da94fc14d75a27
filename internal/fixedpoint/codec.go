package fixedpoint

import (
	"encoding/binary"
	"fmt"
)

// Encode32 returns q as 4·len(q) little-endian bytes: the data section of a
// safetensors U32 tensor.
func Encode32(q []uint32) []byte { return AppendEncode32(make([]byte, 0, 4*len(q)), q) }

// AppendEncode32 appends q's little-endian encoding to b.
func AppendEncode32(b []byte, q []uint32) []byte {
	for _, v := range q {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// Decode32 decodes little-endian b into dst; len(b) must be exactly
// 4·len(dst) (else ErrLength, and dst is untouched).
func Decode32(dst []uint32, b []byte) error {
	if len(b) != 4*len(dst) {
		return fmt.Errorf("fixedpoint: decode: %w: %d bytes, %d elements of 4 bytes need %d", ErrLength, len(b), len(dst), 4*len(dst))
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return nil
}

// Encode64 returns q as 8·len(q) little-endian bytes: the data section of a
// safetensors U64 tensor.
func Encode64(q []uint64) []byte { return AppendEncode64(make([]byte, 0, 8*len(q)), q) }

// AppendEncode64 appends q's little-endian encoding to b.
func AppendEncode64(b []byte, q []uint64) []byte {
	for _, v := range q {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// Decode64 decodes little-endian b into dst; len(b) must be exactly
// 8·len(dst) (else ErrLength, and dst is untouched).
func Decode64(dst []uint64, b []byte) error {
	if len(b) != 8*len(dst) {
		return fmt.Errorf("fixedpoint: decode: %w: %d bytes, %d elements of 8 bytes need %d", ErrLength, len(b), len(dst), 8*len(dst))
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return nil
}
