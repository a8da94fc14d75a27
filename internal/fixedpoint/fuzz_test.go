package fixedpoint

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
)

// fuzzParams: MaxAbs(w) = 256·w, so |element| ≤ 2560, and up to 3 updates.
func fuzzParams(bits int) Params {
	return Params{Bits: bits, Clip: 1, Scale: 1 << 8, MaxWeight: 10, MaxParticipants: 3}
}

// FuzzDecode feeds arbitrary bytes to Decode32/Decode64 and what they accept
// to a Sum. It checks that nothing panics; that Decode accepts exactly the
// lengths it must and then re-encodes to the same bytes; that Add accepts an
// update iff every element is within ±MaxAbs(weight); and that an accepted
// update cannot wrap the ring: adding it MaxParticipants times gives exactly
// the same mean as adding it once, within ±MaxAbs(w)/(Scale·w).
func FuzzDecode(f *testing.F) {
	f.Add([]byte{}, false, uint8(1))
	f.Add(Encode32([]uint32{1, 0xFFFFFFFF, 2560, 0xFFFFFFFF - 2559}), false, uint8(10))
	f.Add(Encode32([]uint32{2561}), false, uint8(10))
	f.Add(Encode64([]uint64{1, math.MaxUint64, 1 << 63}), true, uint8(3))
	f.Add([]byte{1, 2, 3, 4, 5}, false, uint8(2))
	f.Add(bytes.Repeat([]byte{0xFF}, 64), true, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, wide bool, w8 uint8) {
		bits, size := 32, 4
		if wide {
			bits, size = 64, 8
		}
		n := len(b) / size
		p := fuzzParams(bits)
		w := uint64(w8%10) + 1
		bound, _ := p.MaxAbs(w)

		var q []int64 // signed values of the decoded elements
		var enc []byte
		var add func() error
		var s anySum
		if bits == 32 {
			d := make([]uint32, n)
			if err := Decode32(make([]uint32, n+1), b); !errors.Is(err, ErrLength) {
				t.Fatalf("Decode32 of %d bytes into %d elements = %v", len(b), n+1, err)
			}
			err := Decode32(d, b)
			if (err == nil) != (len(b)%4 == 0) {
				t.Fatalf("Decode32 of %d bytes into %d elements = %v", len(b), n, err)
			}
			if err != nil {
				return
			}
			enc = Encode32(d)
			for _, v := range d {
				q = append(q, signed32(v))
			}
			s32, _ := NewSum32(n, p)
			s, add = anySum{s32: s32}, func() error { return s32.Add(d, w) }
		} else {
			d := make([]uint64, n)
			err := Decode64(d, b)
			if (err == nil) != (len(b)%8 == 0) {
				t.Fatalf("Decode64 of %d bytes into %d elements = %v", len(b), n, err)
			}
			if err != nil {
				return
			}
			enc = Encode64(d)
			for _, v := range d {
				q = append(q, signed64(v))
			}
			s64, _ := NewSum64(n, p)
			s, add = anySum{s64: s64}, func() error { return s64.Add(d, w) }
		}
		if !bytes.Equal(enc, b) {
			t.Fatal("decode then encode changed the bytes")
		}
		inRange := !slices.ContainsFunc(q, func(v int64) bool { return v < -int64(bound) || v > int64(bound) })
		err := add()
		if (err == nil) != inRange {
			t.Fatalf("Add = %v, elements within ±%d: %v", err, bound, inRange)
		}
		if err != nil {
			if !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("Add = %v, want ErrOutOfRange", err)
			}
			return
		}
		once := make([]float64, n)
		if err := s.mean64(once); err != nil {
			t.Fatal(err)
		}
		for range p.MaxParticipants - 1 {
			if err := add(); err != nil {
				t.Fatal(err)
			}
		}
		all := make([]float64, n)
		if err := s.mean64(all); err != nil {
			t.Fatal(err)
		}
		limit := float64(bound) / (p.Scale * float64(w))
		for i := range n {
			if all[i] != once[i] || math.Abs(all[i]) > limit {
				t.Fatalf("element %d: mean of %d copies %g, of one %g (limit ±%g): the sum wrapped", i, p.MaxParticipants, all[i], once[i], limit)
			}
		}
	})
}
