package strategy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// stateMagic starts every serialised optimiser state (version 1).
const stateMagic = "confed-optstate/1\n"

// State serialises the optimiser state:
//
//	magic "confed-optstate/1\n"
//	u8 len(name), name
//	u64 n, u64 steps, u8 number of vectors k (0, 1 or 2)
//	k × n float64 (m, then v), little-endian
//	u32 CRC-32C of everything before it
//
// Integers are little-endian. The CRC catches accidental corruption only:
// whoever stores the bytes outside the TEE must seal them.
func (o *serverOpt) State() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	vecs := o.vectors()
	b := make([]byte, 0, len(stateMagic)+1+len(o.cfg.Name)+8+8+1+len(vecs)*8*o.n+4)
	b = append(b, stateMagic...)
	b = append(b, byte(len(o.cfg.Name)))
	b = append(b, o.cfg.Name...)
	b = binary.LittleEndian.AppendUint64(b, uint64(o.n))
	b = binary.LittleEndian.AppendUint64(b, o.t)
	b = append(b, byte(len(vecs)))
	for _, vec := range vecs {
		for _, x := range vec {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (o *serverOpt) vectors() [][]float64 {
	var vecs [][]float64
	if o.m != nil {
		vecs = append(vecs, o.m)
	}
	if o.v != nil {
		vecs = append(vecs, o.v)
	}
	return vecs
}

// Restore replaces the state with b, which State produced for an optimiser
// of the same name and size. It refuses b, leaving the state unchanged, if
// it is malformed, fails its checksum, belongs to another optimiser or size,
// or holds a non-finite (or, for v, negative) value.
func (o *serverOpt) Restore(b []byte) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("strategy: %s: restore: %s", o.cfg.Name, fmt.Sprintf(format, args...))
	}
	if len(b) < len(stateMagic)+4 || string(b[:len(stateMagic)]) != stateMagic {
		return fail("not an optimiser state")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return fail("checksum mismatch (corrupted state)")
	}
	r := reader{b: body[len(stateMagic):]}
	name := string(r.bytes(int(r.u8())))
	n := r.u64()
	steps := r.u64()
	k := int(r.u8())
	if r.err != nil {
		return fail("truncated header")
	}
	if name != o.cfg.Name {
		return fail("state is of %q", name)
	}
	if n != uint64(o.n) {
		return fail("state is for %d parameters, the optimiser has %d", n, o.n)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	vecs := o.vectors()
	if k != len(vecs) {
		return fail("state has %d vectors, want %d", k, len(vecs))
	}
	if uint64(len(r.b)) != uint64(k)*8*n {
		return fail("state holds %d bytes of vectors, want %d", len(r.b), uint64(k)*8*n)
	}
	// Check everything before copying anything.
	for j := range k {
		for i := range o.n {
			x := math.Float64frombits(binary.LittleEndian.Uint64(r.b[(j*o.n+i)*8:]))
			if !finite(x) || (j == 1 && x < 0) {
				return fail("vector %d element %d is %v", j, i, x)
			}
		}
	}
	for j, vec := range vecs {
		for i := range vec {
			vec[i] = math.Float64frombits(binary.LittleEndian.Uint64(r.b[(j*o.n+i)*8:]))
		}
	}
	o.t = steps
	return nil
}

// reader decodes little-endian values, remembering the first overrun.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("short")

func (r *reader) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errShort
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}
