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
// little-endian: 8 bytes (float64) or 4 bytes (ring element). No header or
// framing: the PartialHeader declares the kind, size and hash.

// partialElemSize is the encoded size of one coordinate of kind k.
func partialElemSize(k confedv1.PartialKind) (int, error) {
	switch k {
	case confedv1.PartialKind_PARTIAL_KIND_FLOAT64:
		return 8, nil
	case confedv1.PartialKind_PARTIAL_KIND_RING32:
		return 4, nil
	}
	return 0, fmt.Errorf("unknown partial kind %v", k)
}

// vecReader streams the encoding of a float64 or uint32 vector without
// encoding it whole.
type vecReader struct {
	f64  []float64
	u32  []uint32
	elem int
	off  int // bytes read so far
	tmp  [8]byte
}

func newVecReader(f64 []float64, u32 []uint32) *vecReader {
	if f64 != nil {
		return &vecReader{f64: f64, elem: 8}
	}
	return &vecReader{u32: u32, elem: 4}
}

func (r *vecReader) size() int64 { return int64(r.elem) * int64(max(len(r.f64), len(r.u32))) }

// put encodes element i into dst (r.elem bytes).
func (r *vecReader) put(dst []byte, i int) {
	if r.f64 != nil {
		binary.LittleEndian.PutUint64(dst, math.Float64bits(r.f64[i]))
		return
	}
	binary.LittleEndian.PutUint32(dst, r.u32[i])
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

// hashVec is the SHA-256 of the vector's encoding.
func hashVec(f64 []float64, u32 []uint32) ([32]byte, int64) {
	r := newVecReader(f64, u32)
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
	elem   int
	size   int64
	got    int64
	next   int // index of the next coordinate to hand on
	carry  [8]byte
	ncarry int
	h      hash.Hash
	f64    func(lo int, v []float64) error
	u32    func(lo int, v []uint32) error
	bufF   []float64
	bufU   []uint32
}

// errPartialTooLong is returned once the stream exceeds its declared size.
var errPartialTooLong = errors.New("partial aggregate longer than its header declares")

// newPartialDecoder decodes size bytes of kind k; exactly one of f64 and
// u32 is called, according to k.
func newPartialDecoder(k confedv1.PartialKind, size int64, f64 func(int, []float64) error, u32 func(int, []uint32) error) (*partialDecoder, error) {
	elem, err := partialElemSize(k)
	if err != nil {
		return nil, err
	}
	if size < 0 || size%int64(elem) != 0 {
		return nil, fmt.Errorf("partial aggregate of %d bytes is not a whole number of %d-byte coordinates", size, elem)
	}
	return &partialDecoder{elem: elem, size: size, h: sha256.New(), f64: f64, u32: u32}, nil
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
	if d.elem == 8 {
		d.bufF = slices.Grow(d.bufF[:0], n)[:n]
		for i := range n {
			d.bufF[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return d.f64(lo, d.bufF)
	}
	d.bufU = slices.Grow(d.bufU[:0], n)[:n]
	for i := range n {
		d.bufU[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return d.u32(lo, d.bufU)
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
