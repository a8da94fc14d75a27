package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// streamBatch is the most values handed to a Sink in one call.
const streamBatch = 8192

// Sink receives the values a StreamDecoder decodes. offset is the index of
// values[0] in the flat parameter vector (spec order, as Model.Flat); values
// is only valid during the call. Calls arrive in increasing offset order and
// cover every parameter exactly once. A non-nil error stops decoding: Write
// and Close return it unchanged.
type Sink func(offset int, values []float32) error

// RawSink receives the elements a raw StreamDecoder decodes, as their
// little-endian bytes: whole elements only, offset being the flat index of
// the first. raw is only valid during the call.
type RawSink func(offset int, raw []byte) error

// StreamDecoder validates and decodes one safetensors stream against an
// expected Spec as its bytes arrive, in chunks of any size, holding at most
// the header and one batch of values. It implements io.WriteCloser.
//
// Once the header is complete it must describe the spec exactly: the same
// tensor names and shapes, all F32, laid out contiguously in name order (so
// the data section maps 1:1 onto the flat parameter vector). Any error is
// sticky: later Writes and Close return it.
type StreamDecoder struct {
	spec    Spec
	limits  Limits
	sink    Sink
	dtype   Dtype   // F32 unless NewRawStreamDecoder
	rawSink RawSink // non-nil only for NewRawStreamDecoder
	err     error   // sticky
	closed  bool

	prefix  [prefixLen]byte
	nPrefix int
	hdrLen  int64
	hdr     []byte
	inData  bool // header complete and accepted

	dataLen, dataGot int64
	carry            [8]byte // bytes of an element split across Writes
	nCarry           int
	next             int // flat index of the next value to emit
	batch            []float32
}

// NewStreamDecoder returns a decoder for a stream that must encode a model
// with the given spec. sink receives the values; a nil sink only validates.
// An invalid spec is reported by the first Write or Close.
func NewStreamDecoder(spec Spec, limits Limits, sink Sink) *StreamDecoder {
	d := &StreamDecoder{spec: spec.clone(), limits: limits, sink: sink, dtype: F32}
	if err := spec.Validate(); err != nil {
		d.err = fmt.Errorf("safetensors: stream: %w", err)
	}
	return d
}

// NewRawStreamDecoder is NewStreamDecoder for a stream whose tensors are all
// of the given dtype (U32 or U64 for fixed-point updates): it checks the
// header in the same way and hands the data to sink as raw little-endian
// elements. A nil sink only validates.
func NewRawStreamDecoder(spec Spec, dtype Dtype, limits Limits, sink RawSink) *StreamDecoder {
	d := NewStreamDecoder(spec, limits, nil)
	d.dtype = dtype
	d.rawSink = func(int, []byte) error { return nil }
	if sink != nil {
		d.rawSink = sink
	}
	if d.err == nil && dtype.Size() == 0 {
		d.err = fmt.Errorf("safetensors: stream: dtype %q %w", dtype, ErrUnsupportedDtype)
	}
	return d
}

// Write consumes the next bytes of the stream. It returns the number of bytes
// consumed and an error if they (or the header they complete) are invalid,
// if they run past the end the header declares, or if the sink failed.
func (d *StreamDecoder) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.closed {
		return 0, errors.New("safetensors: stream: write after Close")
	}
	n, err := d.write(p)
	d.err = err
	return n, err
}

// Close reports whether the stream was complete: it returns the sticky error
// if any, or an ErrTruncated error ("truncated: got N of M data bytes") if
// fewer bytes arrived than the header declares.
func (d *StreamDecoder) Close() error {
	if d.err != nil {
		return d.err
	}
	d.closed = true
	switch {
	case d.nPrefix < prefixLen:
		return fmt.Errorf("safetensors: %w: got %d of %d prefix bytes", ErrTruncated, d.nPrefix, prefixLen)
	case !d.inData:
		return fmt.Errorf("safetensors: %w: got %d of %d header bytes", ErrTruncated, len(d.hdr), d.hdrLen)
	case d.dataGot < d.dataLen:
		return fmt.Errorf("safetensors: %w: got %d of %d data bytes", ErrTruncated, d.dataGot, d.dataLen)
	}
	return nil
}

func (d *StreamDecoder) write(p []byte) (int, error) {
	n := 0
	if !d.inData {
		k, err := d.writeHeader(p)
		if err != nil {
			return k, fmt.Errorf("safetensors: %w", err)
		}
		n, p = k, p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	k, err := d.writeData(p)
	return n + k, err
}

// writeHeader consumes prefix and header bytes from p; once the header is
// complete it validates it and switches to data.
func (d *StreamDecoder) writeHeader(p []byte) (int, error) {
	n := 0
	if d.nPrefix < prefixLen {
		k := copy(d.prefix[d.nPrefix:], p)
		d.nPrefix += k
		n, p = k, p[k:]
		if d.nPrefix < prefixLen {
			return n, nil
		}
		hdrLen, err := readPrefix(d.prefix[:], d.limits)
		if err != nil {
			return n, err
		}
		d.hdrLen = hdrLen
	}
	k := int(min(int64(len(p)), d.hdrLen-int64(len(d.hdr))))
	d.hdr = append(d.hdr, p[:k]...) // grows with the bytes received
	n += k
	if int64(len(d.hdr)) < d.hdrLen {
		return n, nil
	}
	entries, err := parseHeader(d.hdr, d.dtype)
	if err != nil {
		return n, err
	}
	entries, dataLen, err := checkLayout(entries, d.dtype)
	if err != nil {
		return n, err
	}
	// Spec before size: a header for the wrong model is reported as such.
	if err := matchSpec(entries, d.spec); err != nil {
		return n, err
	}
	if err := checkTotal(d.hdrLen, dataLen, d.limits); err != nil {
		return n, err
	}
	d.hdr, d.inData, d.dataLen = nil, true, dataLen
	d.batch = make([]float32, 0, min(d.spec.NumParams(), streamBatch))
	return n, nil
}

// writeData decodes data bytes, carrying a float split across calls.
func (d *StreamDecoder) writeData(p []byte) (int, error) {
	if d.rawSink != nil {
		return d.writeRaw(p)
	}
	tooLong := false
	if rest := d.dataLen - d.dataGot; int64(len(p)) > rest {
		p, tooLong = p[:rest], true
	}
	size := len(p)
	batch := d.batch[:0]
	for len(p) > 0 {
		if d.nCarry > 0 || len(p) < f32Size {
			c := copy(d.carry[d.nCarry:f32Size], p)
			d.nCarry += c
			p = p[c:]
			if d.nCarry < f32Size {
				break
			}
			batch = append(batch, math.Float32frombits(binary.LittleEndian.Uint32(d.carry[:])))
			d.nCarry = 0
		} else {
			k := min(len(p)/f32Size, cap(batch)-len(batch))
			batch = appendFloats(batch, p[:k*f32Size])
			p = p[k*f32Size:]
		}
		if len(batch) == cap(batch) {
			if err := d.emit(batch); err != nil {
				return d.consumed(size, len(p)), err
			}
			batch = batch[:0]
		}
	}
	if err := d.emit(batch); err != nil {
		return d.consumed(size, 0), err
	}
	n := d.consumed(size, 0)
	if tooLong {
		return n, fmt.Errorf("safetensors: %w (%d data bytes)", ErrTooLong, d.dataLen)
	}
	return n, nil
}

// writeRaw hands data bytes to the raw sink in whole elements, carrying an
// element split across calls.
func (d *StreamDecoder) writeRaw(p []byte) (int, error) {
	tooLong := false
	if rest := d.dataLen - d.dataGot; int64(len(p)) > rest {
		p, tooLong = p[:rest], true
	}
	size, es := len(p), d.dtype.Size()
	for len(p) > 0 {
		var chunk []byte
		if d.nCarry > 0 || len(p) < es {
			c := copy(d.carry[d.nCarry:es], p)
			d.nCarry += c
			p = p[c:]
			if d.nCarry < es {
				break
			}
			chunk, d.nCarry = d.carry[:es], 0
		} else {
			k := len(p) / es * es
			chunk, p = p[:k], p[k:]
		}
		off := d.next
		d.next += len(chunk) / es
		if err := d.rawSink(off, chunk); err != nil {
			return d.consumed(size, len(p)), err
		}
	}
	n := d.consumed(size, 0)
	if tooLong {
		return n, fmt.Errorf("safetensors: %w (%d data bytes)", ErrTooLong, d.dataLen)
	}
	return n, nil
}

func (d *StreamDecoder) consumed(size, left int) int {
	d.dataGot += int64(size - left)
	return size - left
}

func (d *StreamDecoder) emit(values []float32) error {
	if len(values) == 0 {
		return nil
	}
	off := d.next
	d.next += len(values)
	if d.sink == nil {
		return nil
	}
	return d.sink(off, values)
}
