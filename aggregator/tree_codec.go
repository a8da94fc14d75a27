package aggregator

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"slices"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// A partial aggregate travels as its sum vector, each coordinate in
// little-endian: 8 bytes (float64, 64-bit ring element) or 4 bytes (32-bit
// ring element). No header or framing: the PartialHeader declares the kind,
// size and hash.

// partialElemSize is the encoded size of one coordinate of kind k.
func partialElemSize(k confedv1.PartialKind) (int, error) {
	switch k {
	case confedv1.PartialKind_PARTIAL_KIND_FLOAT64, confedv1.PartialKind_PARTIAL_KIND_RING64:
		return 8, nil
	case confedv1.PartialKind_PARTIAL_KIND_RING32:
		return 4, nil
	}
	return 0, fmt.Errorf("unknown partial kind %v", k)
}

// sumVec is a partial's sum: exactly one of its fields is set.
type sumVec struct {
	f64 []float64
	u32 []uint32
	u64 []uint64
}

func (v sumVec) kind() confedv1.PartialKind {
	switch {
	case v.u32 != nil:
		return confedv1.PartialKind_PARTIAL_KIND_RING32
	case v.u64 != nil:
		return confedv1.PartialKind_PARTIAL_KIND_RING64
	}
	return confedv1.PartialKind_PARTIAL_KIND_FLOAT64
}

func (v sumVec) len() int { return max(len(v.f64), len(v.u32), len(v.u64)) }

// vecReader streams the encoding of a sum without encoding it whole.
type vecReader struct {
	v    sumVec
	elem int
	off  int // bytes read so far
	tmp  [8]byte
}

func newVecReader(v sumVec) *vecReader {
	elem, _ := partialElemSize(v.kind())
	return &vecReader{v: v, elem: elem}
}

func (r *vecReader) size() int64 { return int64(r.elem) * int64(r.v.len()) }

// put encodes element i into dst (r.elem bytes).
func (r *vecReader) put(dst []byte, i int) {
	switch {
	case r.v.u32 != nil:
		binary.LittleEndian.PutUint32(dst, r.v.u32[i])
	case r.v.u64 != nil:
		binary.LittleEndian.PutUint64(dst, r.v.u64[i])
	default:
		binary.LittleEndian.PutUint64(dst, math.Float64bits(r.v.f64[i]))
	}
}

// Read implements io.Reader.
func (r *vecReader) Read(p []byte) (int, error) {
	total := r.size()
	n := 0
	for n < len(p) && int64(r.off) < total {
		i, within := r.off/r.elem, r.off%r.elem
		if within == 0 && len(p)-n >= r.elem {
			r.put(p[n:], i)
			n += r.elem
			r.off += r.elem
			continue
		}
		r.put(r.tmp[:], i) // a coordinate split across reads
		c := copy(p[n:], r.tmp[within:r.elem])
		n += c
		r.off += c
	}
	if n == 0 && int64(r.off) >= total {
		return 0, io.EOF
	}
	return n, nil
}

// hashVec is the SHA-256 of the sum's encoding.
func hashVec(v sumVec) ([32]byte, int64) {
	r := newVecReader(v)
	h := sha256.New()
	buf := make([]byte, 64<<10)
	n, _ := io.CopyBuffer(h, r, buf) // neither side fails
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n
}

// partialDecoder decodes a streamed partial sum, whatever its chunk
// boundaries, handing complete coordinates to a sink as they arrive, and
// hashes the bytes. It refuses more bytes than declared, and Close refuses
// fewer.
type partialDecoder struct {
	kind   confedv1.PartialKind
	elem   int
	size   int64
	got    int64
	next   int // index of the next coordinate to hand on
	carry  [8]byte
	ncarry int
	h      hash.Hash
	sink   sinks
	bufF   []float64
	bufU   []uint32
	bufU64 []uint64
}

// sinks take decoded pieces of a partial (the one of its kind is called).
type sinks struct {
	f64 func(lo int, v []float64) error
	u32 func(lo int, v []uint32) error
	u64 func(lo int, v []uint64) error
}

// errPartialTooLong is returned once the stream exceeds its declared size.
var errPartialTooLong = errors.New("partial aggregate longer than its header declares")

// newPartialDecoder decodes size bytes of kind k, handing them to the
// sink of that kind, which must be set.
func newPartialDecoder(k confedv1.PartialKind, size int64, s sinks) (*partialDecoder, error) {
	elem, err := partialElemSize(k)
	if err != nil {
		return nil, err
	}
	if size < 0 || size%int64(elem) != 0 {
		return nil, fmt.Errorf("partial aggregate of %d bytes is not a whole number of %d-byte coordinates", size, elem)
	}
	if (k == confedv1.PartialKind_PARTIAL_KIND_FLOAT64 && s.f64 == nil) || (k == confedv1.PartialKind_PARTIAL_KIND_RING32 && s.u32 == nil) ||
		(k == confedv1.PartialKind_PARTIAL_KIND_RING64 && s.u64 == nil) {
		return nil, fmt.Errorf("no sink for a %v partial", k)
	}
	return &partialDecoder{kind: k, elem: elem, size: size, h: sha256.New(), sink: s}, nil
}

// Write decodes p.
func (d *partialDecoder) Write(p []byte) error {
	if d.got+int64(len(p)) > d.size {
		return fmt.Errorf("%w (%d bytes)", errPartialTooLong, d.size)
	}
	d.got += int64(len(p))
	d.h.Write(p)
	if d.ncarry > 0 { // finish the coordinate split across chunks
		c := copy(d.carry[d.ncarry:d.elem], p)
		d.ncarry += c
		p = p[c:]
		if d.ncarry < d.elem {
			return nil
		}
		d.ncarry = 0
		if err := d.emit(d.carry[:d.elem]); err != nil {
			return err
		}
	}
	whole := len(p) - len(p)%d.elem
	if err := d.emit(p[:whole]); err != nil {
		return err
	}
	d.ncarry = copy(d.carry[:], p[whole:])
	return nil
}

// emit decodes whole coordinates and hands them to the sink.
func (d *partialDecoder) emit(b []byte) error {
	n := len(b) / d.elem
	if n == 0 {
		return nil
	}
	lo := d.next
	d.next += n
	switch d.kind {
	case confedv1.PartialKind_PARTIAL_KIND_RING32:
		d.bufU = slices.Grow(d.bufU[:0], n)[:n]
		for i := range n {
			d.bufU[i] = binary.LittleEndian.Uint32(b[4*i:])
		}
		return d.sink.u32(lo, d.bufU)
	case confedv1.PartialKind_PARTIAL_KIND_RING64:
		d.bufU64 = slices.Grow(d.bufU64[:0], n)[:n]
		for i := range n {
			d.bufU64[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		return d.sink.u64(lo, d.bufU64)
	}
	d.bufF = slices.Grow(d.bufF[:0], n)[:n]
	for i := range n {
		d.bufF[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return d.sink.f64(lo, d.bufF)
}

// Close checks that every declared byte arrived and returns their hash.
func (d *partialDecoder) Close() ([32]byte, error) {
	var sum [32]byte
	if d.got != d.size {
		return sum, fmt.Errorf("partial aggregate truncated: %d of %d bytes", d.got, d.size)
	}
	copy(sum[:], d.h.Sum(nil))
	return sum, nil
}
