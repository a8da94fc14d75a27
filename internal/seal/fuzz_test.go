package seal

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"testing/cryptotest"
)

// fuzzFixture is one genuine stream, made once per process from
// deterministic randomness so that fuzz inputs (which are relative to it)
// reproduce.
type fuzzFixture struct {
	key    *RoundKey
	ctx    Context
	header []byte
	plain  [][]byte
	chunks []sealed
}

var (
	fixtureOnce sync.Once
	fixture     *fuzzFixture
)

func getFixture(t *testing.T) *fuzzFixture {
	fixtureOnce.Do(func() {
		cryptotest.SetGlobalRandom(t, 42) // deterministic encapsulation
		key := testKey(t, 42)
		ctx := testCtx()
		plain := [][]byte{[]byte("first chunk of the update"), bytes.Repeat([]byte{0}, 64), nil}
		s, err := NewSealer(key.PublicKey(), ctx)
		if err != nil {
			t.Fatal(err)
		}
		f := &fuzzFixture{key: key, ctx: ctx, header: s.Header(), plain: plain}
		for i, p := range plain {
			last := i == len(plain)-1
			ct, err := s.Seal(uint64(i), p, last)
			if err != nil {
				t.Fatal(err)
			}
			f.chunks = append(f.chunks, sealed{uint64(i), ct, last})
		}
		fixture = f
	})
	if fixture == nil {
		t.Fatal("fixture setup failed earlier")
	}
	return fixture
}

// xorInto returns base XOR mask over their common length, followed by the
// rest of mask (so a mask can also lengthen base), cut by cut bytes.
func xorInto(base, mask []byte, cut uint16) []byte {
	out := bytes.Clone(base)
	for i := range min(len(out), len(mask)) {
		out[i] ^= mask[i]
	}
	if len(mask) > len(out) {
		out = append(out, mask[len(out):]...)
	}
	if int(cut) <= len(out) {
		out = out[:len(out)-int(cut)]
	}
	return out
}

// FuzzOpen feeds the opener a header and, after k genuine chunks, one
// arbitrary chunk (raw, or a genuine one XORed with a mask). It must never
// panic, never accept a header other than the genuine one, and never accept
// a chunk unless it is exactly the genuine next chunk with its own sequence
// number and final-chunk flag.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(nil), uint16(0), uint8(0), uint64(0), []byte(nil), uint16(0), false, false) // genuine chunk 0
	f.Add([]byte(nil), uint16(0), uint8(2), uint64(2), []byte(nil), uint16(0), false, true)  // genuine final chunk
	f.Add([]byte(nil), uint16(0), uint8(1), uint64(1), []byte{0, 0, 1}, uint16(0), false, false)
	f.Add([]byte(nil), uint16(0), uint8(1), uint64(1), []byte(nil), uint16(1), false, false)
	f.Add([]byte(nil), uint16(0), uint8(1), uint64(1), []byte(nil), uint16(0), false, true)
	f.Add([]byte(nil), uint16(0), uint8(0), uint64(1), []byte(nil), uint16(0), false, false)
	f.Add([]byte(nil), uint16(0), uint8(3), uint64(3), []byte("after"), uint16(0), true, false)
	f.Add([]byte(nil), uint16(0), uint8(0), uint64(0), make([]byte, 16), uint16(0), true, true)
	f.Add([]byte{1}, uint16(0), uint8(0), uint64(0), []byte(nil), uint16(0), false, false)
	f.Add(append(make([]byte, 20), 1), uint16(0), uint8(0), uint64(0), []byte(nil), uint16(0), false, false)
	f.Add([]byte(nil), uint16(1), uint8(0), uint64(0), []byte(nil), uint16(0), false, false)
	f.Add(make([]byte, 2000), uint16(0), uint8(0), uint64(0), []byte(nil), uint16(0), false, false)

	f.Fuzz(func(t *testing.T, hdrMask []byte, hdrCut uint16, k uint8, seq uint64, ctMask []byte, ctCut uint16, raw, last bool) {
		fx := getFixture(t)
		// Forget earlier iterations' streams so the genuine header opens.
		fx.key.mu.Lock()
		fx.key.seen = make(map[[sha256.Size]byte]struct{})
		fx.key.mu.Unlock()

		hdr := xorInto(fx.header, hdrMask, hdrCut)
		o, err := NewOpener(fx.key, hdr, fx.ctx)
		if err != nil {
			if bytes.Equal(hdr, fx.header) {
				t.Fatalf("genuine header refused: %v", err)
			}
			return
		}
		if !bytes.Equal(hdr, fx.header) {
			t.Fatalf("modified header accepted: %x", hdr)
		}

		n := len(fx.chunks)
		kk := int(k) % (n + 1)
		for _, c := range fx.chunks[:kk] {
			if _, err := o.Open(c.seq, c.ct, c.last); err != nil {
				t.Fatalf("genuine chunk %d refused: %v", c.seq, err)
			}
		}
		var ct []byte
		if raw || kk == n {
			ct = xorInto(nil, ctMask, ctCut)
		} else {
			ct = xorInto(fx.chunks[kk].ct, ctMask, ctCut)
		}
		pt, err := o.Open(seq, ct, last)
		if err != nil {
			if kk == n && !errors.Is(err, ErrAfterLast) {
				t.Fatalf("after the final chunk: err = %v, want ErrAfterLast", err)
			}
			if fErr := o.Finish(); fErr == nil {
				t.Fatal("Finish accepted a stream with a refused chunk")
			}
			return
		}
		if kk == n {
			t.Fatal("chunk accepted after the final chunk")
		}
		g := fx.chunks[kk]
		if seq != g.seq || last != g.last || !bytes.Equal(ct, g.ct) {
			t.Fatalf("modified chunk accepted: seq %d last %t ct %x (genuine: seq %d last %t)", seq, last, ct, g.seq, g.last)
		}
		if !bytes.Equal(pt, fx.plain[kk]) {
			t.Fatal("genuine chunk opened to the wrong plaintext")
		}
		if err := o.Finish(); (err == nil) != last {
			t.Fatalf("Finish = %v after chunk %d (last=%t)", err, kk, last)
		}
	})
}
