package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// readChunk is how many data bytes ReadSafetensors reads at a time; a
// multiple of 4 so that chunks never split a float.
const readChunk = 64 << 10

// ReadSafetensors reads a safetensors encoding from r, which must end exactly
// where the header says the data ends. Tensors may appear in any order; all
// must be F32. Memory grows with the bytes actually received, so a header
// that declares a huge tensor and then stops costs nothing.
func ReadSafetensors(r io.Reader, limits Limits) (*Model, error) {
	m, err := readSafetensors(r, limits)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return m, nil
}

// DecodeSafetensors decodes b, which must be exactly one safetensors
// encoding (see ReadSafetensors).
func DecodeSafetensors(b []byte, limits Limits) (*Model, error) {
	m, err := decodeSafetensors(b, limits)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return m, nil
}

func readSafetensors(r io.Reader, limits Limits) (*Model, error) {
	var prefix [prefixLen]byte
	if n, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, readErr(err, int64(n), prefixLen, "prefix")
	}
	hdrLen, err := readPrefix(prefix[:], limits)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, hdrLen)
	if n, err := io.ReadFull(r, hdr); err != nil {
		return nil, readErr(err, int64(n), hdrLen, "header")
	}
	entries, dataLen, err := layoutOf(hdr, limits)
	if err != nil {
		return nil, err
	}
	tensors := make([]Tensor, len(entries))
	buf := make([]byte, readChunk)
	var got int64
	for i, e := range entries {
		data := make([]float32, 0, min((e.end-e.begin)/f32Size, readChunk))
		for rest := e.end - e.begin; rest > 0; {
			k := min(rest, int64(len(buf)))
			n, err := io.ReadFull(r, buf[:k])
			got += int64(n)
			if err != nil {
				return nil, readErr(err, got, dataLen, "data")
			}
			data = appendFloats(data, buf[:k])
			rest -= k
		}
		tensors[i] = Tensor{Name: e.name, Shape: e.shape, Data: data}
	}
	if n, err := io.ReadFull(r, buf[:1]); n > 0 {
		return nil, fmt.Errorf("%w: data continues past the %d bytes declared", ErrTooLong, dataLen)
	} else if err != io.EOF {
		return nil, fmt.Errorf("read: %w", err)
	}
	return New(tensors...)
}

func decodeSafetensors(b []byte, limits Limits) (*Model, error) {
	if limits.MaxTotalBytes > 0 && int64(len(b)) > limits.MaxTotalBytes {
		return nil, fmt.Errorf("%w: %d bytes exceed the limit of %d", ErrTooLarge, len(b), limits.MaxTotalBytes)
	}
	if len(b) < prefixLen {
		return nil, fmt.Errorf("%w: got %d of %d prefix bytes", ErrTruncated, len(b), prefixLen)
	}
	hdrLen, err := readPrefix(b, limits)
	if err != nil {
		return nil, err
	}
	rest := b[prefixLen:]
	if int64(len(rest)) < hdrLen {
		return nil, fmt.Errorf("%w: got %d of %d header bytes", ErrTruncated, len(rest), hdrLen)
	}
	entries, dataLen, err := layoutOf(rest[:hdrLen], limits)
	if err != nil {
		return nil, err
	}
	data := rest[hdrLen:]
	switch n := int64(len(data)); {
	case n < dataLen:
		return nil, fmt.Errorf("%w: got %d of %d data bytes", ErrTruncated, n, dataLen)
	case n > dataLen:
		return nil, fmt.Errorf("%w: %d bytes follow the %d data bytes declared", ErrTooLong, n-dataLen, dataLen)
	}
	tensors := make([]Tensor, len(entries))
	for i, e := range entries {
		span := data[e.begin:e.end]
		tensors[i] = Tensor{Name: e.name, Shape: e.shape, Data: appendFloats(make([]float32, 0, len(span)/f32Size), span)}
	}
	return New(tensors...)
}

// layoutOf parses and validates a header and checks the total it declares
// against limits. It returns the entries in offset order and the data length.
func layoutOf(hdr []byte, limits Limits) ([]entry, int64, error) {
	entries, err := parseHeader(hdr, F32)
	if err != nil {
		return nil, 0, err
	}
	entries, dataLen, err := checkLayout(entries, F32)
	if err != nil {
		return nil, 0, err
	}
	if err := checkTotal(int64(len(hdr)), dataLen, limits); err != nil {
		return nil, 0, err
	}
	return entries, dataLen, nil
}

// checkTotal checks the size a header declares against limits.MaxTotalBytes.
func checkTotal(hdrLen, dataLen int64, limits Limits) error {
	total := prefixLen + hdrLen + dataLen
	if limits.MaxTotalBytes > 0 && total > limits.MaxTotalBytes {
		return fmt.Errorf("%w: header declares %d bytes, over the limit of %d", ErrTooLarge, total, limits.MaxTotalBytes)
	}
	return nil
}

// readErr turns an io.ReadFull failure into ErrTruncated when the input ended.
func readErr(err error, got, want int64, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: got %d of %d %s bytes", ErrTruncated, got, want, what)
	}
	return fmt.Errorf("read %s: %w", what, err)
}

// appendFloats decodes little-endian float32s from b (len a multiple of 4).
func appendFloats(dst []float32, b []byte) []float32 {
	for i := 0; i+f32Size <= len(b); i += f32Size {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
	}
	return dst
}
