package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"unsafe"

	"github.com/confed/confed/internal/fixedpoint"
)

// chunkWords is how many ring elements of a mask are expanded at a time
// (1 MiB): masks are never materialised whole.
const chunkWords = 1 << 18

// littleEndian reports whether this machine stores uint32 little-endian, in
// which case key-stream bytes are viewed as ring elements in place.
var littleEndian = func() bool {
	x := uint32(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// masker expands masks (AES-256-CTR key streams read as little-endian
// uint32s) and adds or subtracts them from a vector with a ring kernel.
type masker struct {
	kernel fixedpoint.Kernel[uint32]
	zero   []byte
	buf    []uint32
	bytes  []byte
}

// newMasker returns a masker for vectors of length elements (at least 1).
func newMasker(length int) *masker {
	n := max(1, min(length, chunkWords))
	m := &masker{kernel: fixedpoint.DefaultKernel32, zero: make([]byte, 4*n), buf: make([]uint32, n)}
	m.bytes = unsafe.Slice((*byte)(unsafe.Pointer(&m.buf[0])), 4*n)
	return m
}

// apply adds (sign +1) or subtracts (sign −1) PRG(key) from dst.
func (m *masker) apply(dst []uint32, key []byte, add bool) error {
	b, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	var iv [aes.BlockSize]byte // each key is used for one stream only
	s := cipher.NewCTR(b, iv[:])
	for off := 0; off < len(dst); off += len(m.buf) {
		n := min(len(m.buf), len(dst)-off)
		w := m.buf[:n]
		s.XORKeyStream(m.bytes[:4*n], m.zero[:4*n])
		if !littleEndian {
			for i := range w {
				w[i] = binary.LittleEndian.Uint32(m.bytes[4*i:])
			}
		}
		if add {
			m.kernel.Add(dst[off:off+n], w)
		} else {
			m.kernel.Sub(dst[off:off+n], w)
		}
	}
	clear(m.buf)
	return nil
}

// addEncoded adds the little-endian uint32s in src to dst (len(src) =
// 4·len(dst)), one chunk at a time.
func (m *masker) addEncoded(dst []uint32, src []byte) {
	for off := 0; off < len(dst); off += len(m.buf) {
		n := min(len(m.buf), len(dst)-off)
		w := m.buf[:n]
		for i := range w {
			w[i] = binary.LittleEndian.Uint32(src[4*(off+i):])
		}
		m.kernel.Add(dst[off:off+n], w)
	}
	clear(m.buf)
}
