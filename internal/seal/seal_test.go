package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/confed/confed/internal/stream"
)

// detRand is a deterministic reader for round keys in tests.
func detRand(seed uint64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

func testKey(t testing.TB, seed uint64) *RoundKey {
	t.Helper()
	k, err := NewRoundKey(detRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testCtx() Context {
	return Context{
		Federation:            "heart-disease",
		Round:                 7,
		AggregatorMeasurement: bytes.Repeat([]byte{0xa5}, 48),
		Participant:           "cleveland",
	}
}

// sealed is one sealed chunk as it travels.
type sealed struct {
	seq  uint64
	ct   []byte
	last bool
}

// sealStream seals payload in chunks of chunkSize; with emptyLast the final
// chunk is an empty one after the data, otherwise the last data chunk
// carries the flag (an empty payload is then one empty final chunk).
func sealStream(t testing.TB, pub []byte, ctx Context, payload []byte, chunkSize int, emptyLast bool) ([]byte, []sealed) {
	t.Helper()
	s, err := NewSealer(pub, ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pieces [][]byte
	for off := 0; off < len(payload); off += chunkSize {
		pieces = append(pieces, payload[off:min(off+chunkSize, len(payload))])
	}
	if emptyLast || len(pieces) == 0 {
		pieces = append(pieces, nil)
	}
	out := make([]sealed, len(pieces))
	for i, p := range pieces {
		last := i == len(pieces)-1
		ct, err := s.Seal(uint64(i), p, last)
		if err != nil {
			t.Fatalf("seal chunk %d: %v", i, err)
		}
		if len(ct) != len(p)+Overhead {
			t.Fatalf("chunk %d: %d bytes sealed to %d, want +%d", i, len(p), len(ct), Overhead)
		}
		out[i] = sealed{uint64(i), ct, last}
	}
	return s.Header(), out
}

func openAll(o *Opener, chunks []sealed) ([]byte, error) {
	var got []byte
	for _, c := range chunks {
		pt, err := o.Open(c.seq, c.ct, c.last)
		if err != nil {
			return got, err
		}
		got = append(got, pt...)
	}
	return got, o.Finish()
}

func TestRoundTrip(t *testing.T) {
	key := testKey(t, 1)
	ctx := testCtx()
	payloadSizes := []int{0, 1, 15, 16, 17, 1000, 4096, 65537, 1<<20 + 3}
	chunkSizes := []int{1, 16, 1000, 4096, 1 << 16, 1 << 20, MaxPlaintextChunk}
	for _, size := range payloadSizes {
		payload := make([]byte, size)
		rand.NewChaCha8([32]byte{byte(size)}).Read(payload)
		for _, cs := range chunkSizes {
			if size/cs > 1100 { // keep the test quick
				continue
			}
			for _, emptyLast := range []bool{false, true} {
				hdr, chunks := sealStream(t, key.PublicKey(), ctx, payload, cs, emptyLast)
				o, err := NewOpener(key, hdr, ctx)
				if err != nil {
					t.Fatalf("size %d chunk %d emptyLast %t: NewOpener: %v", size, cs, emptyLast, err)
				}
				got, err := openAll(o, chunks)
				if err != nil {
					t.Fatalf("size %d chunk %d emptyLast %t: %v", size, cs, emptyLast, err)
				}
				if !bytes.Equal(got, payload) {
					t.Fatalf("size %d chunk %d emptyLast %t: payload differs", size, cs, emptyLast)
				}
				if o.Chunks() != uint64(len(chunks)) {
					t.Fatalf("Chunks() = %d, want %d", o.Chunks(), len(chunks))
				}
			}
		}
	}
}

// TestOpenRefusals delivers a modified three-chunk stream and checks the
// first refusal.
func TestOpenRefusals(t *testing.T) {
	key := testKey(t, 2)
	ctx := testCtx()
	payload := bytes.Repeat([]byte("0123456789"), 30) // 3 chunks of 100
	otherCtx := ctx
	otherCtx.Participant = "hungary"

	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }

	tests := []struct {
		name    string
		deliver func(mine, samePartOther, otherPart []sealed) []sealed
		want    error
		// wantIdx is the index of the delivery that must be refused.
		wantIdx int
	}{
		{"reordered", func(m, _, _ []sealed) []sealed { return []sealed{m[1], m[0]} }, ErrOutOfOrder, 0},
		{"gap", func(m, _, _ []sealed) []sealed { return []sealed{m[0], m[2]} }, ErrOutOfOrder, 1},
		{"duplicate first", func(m, _, _ []sealed) []sealed { return []sealed{m[0], m[0]} }, ErrDuplicate, 1},
		{"duplicate later", func(m, _, _ []sealed) []sealed { return []sealed{m[0], m[1], m[1]} }, ErrDuplicate, 2},
		{"relabelled seq", func(m, _, _ []sealed) []sealed { return []sealed{{0, m[1].ct, false}} }, ErrTampered, 0},
		{"swapped payloads", func(m, _, _ []sealed) []sealed {
			return []sealed{{0, m[1].ct, false}, {1, m[0].ct, false}}
		}, ErrTampered, 0},
		{"bit flip in body", func(m, _, _ []sealed) []sealed { return []sealed{m[0], {1, flip(m[1].ct, 5), false}} }, ErrTampered, 1},
		{"bit flip in tag", func(m, _, _ []sealed) []sealed {
			return []sealed{{0, flip(m[0].ct, len(m[0].ct)-1), false}}
		}, ErrTampered, 0},
		{"shorter than tag", func(m, _, _ []sealed) []sealed { return []sealed{{0, m[0].ct[:Overhead-1], false}} }, ErrTampered, 0},
		{"cut by one byte", func(m, _, _ []sealed) []sealed { return []sealed{{0, m[0].ct[:len(m[0].ct)-1], false}} }, ErrTampered, 0},
		{"extended by one byte", func(m, _, _ []sealed) []sealed { return []sealed{{0, append(bytes.Clone(m[0].ct), 0), false}} }, ErrTampered, 0},
		{"empty", func(m, _, _ []sealed) []sealed { return []sealed{{0, nil, false}} }, ErrTampered, 0},
		{"too large", func(m, _, _ []sealed) []sealed { return []sealed{{0, make([]byte, MaxCiphertextChunk+1), false}} }, ErrChunkTooLarge, 0},
		{"truncation by final flag", func(m, _, _ []sealed) []sealed { return []sealed{m[0], {1, m[1].ct, true}} }, ErrTampered, 1},
		{"final flag removed", func(m, _, _ []sealed) []sealed { return []sealed{m[0], m[1], {2, m[2].ct, false}} }, ErrTampered, 2},
		{"data after final chunk", func(m, _, _ []sealed) []sealed { return []sealed{m[0], m[1], m[2], {3, m[2].ct, false}} }, ErrAfterLast, 3},
		{"final chunk again", func(m, _, _ []sealed) []sealed { return []sealed{m[0], m[1], m[2], m[2]} }, ErrAfterLast, 3},
		{"spliced from another stream of the same participant", func(m, o, _ []sealed) []sealed { return []sealed{m[0], o[1]} }, ErrTampered, 1},
		{"spliced from another participant", func(m, _, p []sealed) []sealed { return []sealed{m[0], p[1]} }, ErrTampered, 1},
		{"first chunk from another participant", func(m, _, p []sealed) []sealed { return []sealed{p[0]} }, ErrTampered, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr, mine := sealStream(t, key.PublicKey(), ctx, payload, 100, false)
			_, other := sealStream(t, key.PublicKey(), ctx, payload, 100, false)
			_, otherPart := sealStream(t, key.PublicKey(), otherCtx, payload, 100, false)
			o, err := NewOpener(key, hdr, ctx)
			if err != nil {
				t.Fatal(err)
			}
			deliveries := tt.deliver(mine, other, otherPart)
			for i, c := range deliveries {
				_, err := o.Open(c.seq, c.ct, c.last)
				if i < tt.wantIdx {
					if err != nil {
						t.Fatalf("delivery %d refused early: %v", i, err)
					}
					continue
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("delivery %d: err = %v, want %v", i, err, tt.want)
				}
				break
			}
			// The refusal is sticky, even for the genuine next chunk.
			for _, c := range mine {
				if _, err := o.Open(c.seq, c.ct, c.last); !errors.Is(err, ErrStreamFailed) || !errors.Is(err, tt.want) {
					t.Fatalf("after refusal: err = %v, want ErrStreamFailed wrapping %v", err, tt.want)
				}
			}
			if err := o.Finish(); !errors.Is(err, ErrStreamFailed) {
				t.Fatalf("Finish after refusal = %v", err)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	key := testKey(t, 3)
	ctx := testCtx()
	payload := bytes.Repeat([]byte{7}, 250)
	tests := []struct {
		name      string
		keep      int // chunks delivered
		emptyLast bool
		want      error
	}{
		{"complete", 3, false, nil},
		{"complete with empty final chunk", 4, true, nil},
		{"final chunk dropped", 2, false, ErrTruncated},
		{"empty final chunk dropped", 3, true, ErrTruncated},
		{"nothing sent", 0, false, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr, chunks := sealStream(t, key.PublicKey(), ctx, payload, 100, tt.emptyLast)
			o, err := NewOpener(key, hdr, ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := openAll(o, chunks[:tt.keep])
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil && !bytes.Equal(got, payload) {
				t.Fatal("payload differs")
			}
		})
	}
}

func TestNewOpenerRefusals(t *testing.T) {
	key := testKey(t, 4)
	otherRound := testKey(t, 5)
	ctx := testCtx()

	with := func(f func(*Context)) Context { c := ctx; f(&c); return c }
	// forge rewrites the claimed binding in the clear header to ctx's, so
	// that only cryptography can notice.
	forge := func(t *testing.T, c Context) []byte {
		s, err := NewSealer(key.PublicKey(), c)
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseHeader(s.Header())
		if err != nil {
			t.Fatal(err)
		}
		return ctx.marshalHeader(h.enc, h.confirm)
	}
	honest := func(t *testing.T, pub []byte, c Context) []byte {
		s, err := NewSealer(pub, c)
		if err != nil {
			t.Fatal(err)
		}
		return s.Header()
	}

	tests := []struct {
		name   string
		header func(t *testing.T) []byte
		key    *RoundKey
		ctx    Context
		want   error
	}{
		{"wrong federation", func(t *testing.T) []byte {
			return honest(t, key.PublicKey(), with(func(c *Context) { c.Federation = "other" }))
		}, key, ctx, ErrWrongFederation},
		{"wrong round", func(t *testing.T) []byte {
			return honest(t, key.PublicKey(), with(func(c *Context) { c.Round = 6 }))
		}, key, ctx, ErrWrongRound},
		{"wrong measurement", func(t *testing.T) []byte {
			return honest(t, key.PublicKey(), with(func(c *Context) { c.AggregatorMeasurement = []byte{1, 2, 3} }))
		}, key, ctx, ErrWrongMeasurement},
		{"wrong participant", func(t *testing.T) []byte {
			return honest(t, key.PublicKey(), with(func(c *Context) { c.Participant = "hungary" }))
		}, key, ctx, ErrWrongParticipant},
		{"forged federation claim", func(t *testing.T) []byte {
			return forge(t, with(func(c *Context) { c.Federation = "other" }))
		}, key, ctx, ErrKeyMismatch},
		{"forged round claim", func(t *testing.T) []byte { return forge(t, with(func(c *Context) { c.Round = 6 })) }, key, ctx, ErrKeyMismatch},
		{"forged measurement claim", func(t *testing.T) []byte {
			return forge(t, with(func(c *Context) { c.AggregatorMeasurement = []byte{1} }))
		}, key, ctx, ErrKeyMismatch},
		{"forged participant claim", func(t *testing.T) []byte {
			return forge(t, with(func(c *Context) { c.Participant = "hungary" }))
		}, key, ctx, ErrKeyMismatch},
		{"key of another round", func(t *testing.T) []byte { return honest(t, key.PublicKey(), ctx) }, otherRound, ctx, ErrKeyMismatch},
		{"sealed to another round's key", func(t *testing.T) []byte { return honest(t, otherRound.PublicKey(), ctx) }, key, ctx, ErrKeyMismatch},
		{"enc modified", func(t *testing.T) []byte {
			h := honest(t, key.PublicKey(), ctx)
			h[len(h)-ConfirmSize-1] ^= 0x40 // in the X25519 part
			return h
		}, key, ctx, ErrKeyMismatch},
		{"enc modified in ML-KEM part", func(t *testing.T) []byte {
			h := honest(t, key.PublicKey(), ctx)
			h[len(h)-ConfirmSize-EncSize] ^= 1
			return h
		}, key, ctx, ErrKeyMismatch},
		{"confirmation modified", func(t *testing.T) []byte {
			h := honest(t, key.PublicKey(), ctx)
			h[len(h)-1] ^= 1
			return h
		}, key, ctx, ErrKeyMismatch},
		{"truncated header", func(t *testing.T) []byte { h := honest(t, key.PublicKey(), ctx); return h[:len(h)-1] }, key, ctx, ErrMalformedHeader},
		{"trailing byte", func(t *testing.T) []byte { return append(honest(t, key.PublicKey(), ctx), 0) }, key, ctx, ErrMalformedHeader},
		{"empty header", func(*testing.T) []byte { return nil }, key, ctx, ErrMalformedHeader},
		{"version 1 (HPKE's own AEAD per chunk)", func(t *testing.T) []byte { h := honest(t, key.PublicKey(), ctx); h[0] = 1; return h }, key, ctx, ErrUnsupportedSuite},
		{"version 3", func(t *testing.T) []byte { h := honest(t, key.PublicKey(), ctx); h[0] = 3; return h }, key, ctx, ErrUnsupportedSuite},
		{"AES-256-GCM as HPKE's AEAD", func(t *testing.T) []byte {
			h := honest(t, key.PublicKey(), ctx)
			binary.BigEndian.PutUint16(h[5:], 0x0002)
			return h
		}, key, ctx, ErrUnsupportedSuite},
		{"DHKEM(X25519) suite", func(t *testing.T) []byte {
			h := honest(t, key.PublicKey(), ctx)
			binary.BigEndian.PutUint16(h[1:], 0x0020)
			return h
		}, key, ctx, ErrUnsupportedSuite},
		{"ChaCha20 suite", func(t *testing.T) []byte {
			h := honest(t, key.PublicKey(), ctx)
			binary.BigEndian.PutUint16(h[5:], 0x0003)
			return h
		}, key, ctx, ErrUnsupportedSuite},
		{"enc length field wrong", func(t *testing.T) []byte {
			h := honest(t, key.PublicKey(), ctx)
			binary.BigEndian.PutUint16(h[len(h)-ConfirmSize-EncSize-2:], EncSize-1)
			return h
		}, key, ctx, ErrMalformedHeader},
		{"invalid receiver context", func(t *testing.T) []byte { return honest(t, key.PublicKey(), ctx) }, key, Context{}, ErrInvalidContext},
		{"nil key", func(t *testing.T) []byte { return honest(t, key.PublicKey(), ctx) }, nil, ctx, ErrKeyDestroyed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := NewOpener(tt.key, tt.header(t), tt.ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if o != nil {
				t.Fatal("opener returned with an error")
			}
		})
	}
}

func TestReplayedStream(t *testing.T) {
	key := testKey(t, 6)
	ctx := testCtx()
	hdr, chunks := sealStream(t, key.PublicKey(), ctx, []byte("update"), 4, false)
	o, err := NewOpener(key, hdr, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openAll(o, chunks); err != nil {
		t.Fatal(err)
	}
	if _, err := NewOpener(key, hdr, ctx); !errors.Is(err, ErrReplayedStream) {
		t.Fatalf("replayed stream: err = %v, want ErrReplayedStream", err)
	}
	// A refused header (key mismatch) is not remembered: the genuine one
	// still opens after a forged attempt with the same enc.
	hdr2, _ := sealStream(t, key.PublicKey(), ctx, []byte("x"), 4, false)
	bad := bytes.Clone(hdr2)
	bad[len(bad)-1] ^= 1
	if _, err := NewOpener(key, bad, ctx); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("bad confirmation: %v", err)
	}
	if _, err := NewOpener(key, hdr2, ctx); err != nil {
		t.Fatalf("genuine header after a forged one: %v", err)
	}
}

func TestAnotherRoundRefuses(t *testing.T) {
	round7, round8 := testKey(t, 7), testKey(t, 8)
	ctx7 := testCtx()
	ctx8 := ctx7
	ctx8.Round = 8
	hdr, _ := sealStream(t, round7.PublicKey(), ctx7, []byte("update"), 4, false)
	// The aggregator of round 8, with round 8's key and context.
	if _, err := NewOpener(round8, hdr, ctx8); !errors.Is(err, ErrWrongRound) {
		t.Fatalf("round 7 stream at round 8: %v", err)
	}
	// Even if the round number is right, round 8's key refuses.
	if _, err := NewOpener(round8, hdr, ctx7); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("round 7 stream with round 8's key: %v", err)
	}
}

func TestDestroy(t *testing.T) {
	key := testKey(t, 9)
	ctx := testCtx()
	internalSeed, err := key.priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	pub := key.PublicKey()
	hdr, chunks := sealStream(t, pub, ctx, bytes.Repeat([]byte{1}, 300), 100, false)
	hdr2, _ := sealStream(t, pub, ctx, []byte("x"), 100, false)
	o, err := NewOpener(key, hdr, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Open(chunks[0].seq, chunks[0].ct, chunks[0].last); err != nil {
		t.Fatal(err)
	}
	key.Destroy()
	key.Destroy() // idempotent
	if !key.Destroyed() {
		t.Fatal("Destroyed() = false")
	}
	if _, err := o.Open(chunks[1].seq, chunks[1].ct, chunks[1].last); !errors.Is(err, ErrKeyDestroyed) {
		t.Fatalf("Open after Destroy: %v", err)
	}
	if _, err := NewOpener(key, hdr2, ctx); !errors.Is(err, ErrKeyDestroyed) {
		t.Fatalf("NewOpener after Destroy: %v", err)
	}
	if key.priv != nil || key.seed != nil || key.seen != nil {
		t.Fatal("Destroy left references")
	}
	if !bytes.Equal(key.PublicKey(), pub) {
		t.Fatal("public key changed")
	}
	// Best effort, Go 1.26 implementation detail: crypto/hpke's hybrid
	// private key hands out its own seed slice, which Destroy wipes.
	if !bytes.Equal(internalSeed, make([]byte, len(internalSeed))) {
		t.Errorf("crypto/hpke's internal seed copy was not zeroed; has hybridPrivateKey.Bytes started returning a copy?")
	}
}

func TestSealerRefusals(t *testing.T) {
	key := testKey(t, 10)
	ctx := testCtx()
	if _, err := NewSealer(key.PublicKey()[1:], ctx); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("short public key: %v", err)
	}
	// All-zero: a valid ML-KEM encoding, but X25519's all-zero point gives
	// an all-zero shared secret, which crypto/ecdh refuses.
	if _, err := NewSealer(make([]byte, PublicKeySize), ctx); err == nil {
		t.Errorf("all-zero public key accepted")
	}
	bad := bytes.Repeat([]byte{0xff}, PublicKeySize) // ML-KEM coefficients out of range
	if _, err := NewSealer(bad, ctx); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("non-canonical ML-KEM key: %v", err)
	}
	for _, c := range []Context{
		{Round: 1, AggregatorMeasurement: []byte{1}, Participant: "p"},
		{Federation: "f", Round: 1, Participant: "p"},
		{Federation: "f", Round: 1, AggregatorMeasurement: []byte{1}},
		{Federation: strings.Repeat("f", MaxNameLen+1), AggregatorMeasurement: []byte{1}, Participant: "p"},
	} {
		if _, err := NewSealer(key.PublicKey(), c); !errors.Is(err, ErrInvalidContext) {
			t.Errorf("context %+v: %v", c, err)
		}
	}

	s, err := NewSealer(key.PublicKey(), ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		seq  uint64
		pt   []byte
		last bool
		want error
	}{
		{1, []byte("a"), false, ErrOutOfOrder},
		{0, nil, false, ErrEmptyChunk},
		{0, make([]byte, MaxPlaintextChunk+1), false, ErrChunkTooLarge},
		{0, []byte("a"), false, nil},
		{0, []byte("a"), false, ErrOutOfOrder},
		{1, nil, true, nil},
		{2, []byte("a"), false, ErrAfterLast},
		{2, nil, true, ErrAfterLast},
	}
	for i, st := range steps {
		_, err := s.Seal(st.seq, st.pt, st.last)
		if (st.want == nil && err != nil) || !errors.Is(err, st.want) {
			t.Fatalf("step %d: err = %v, want %v", i, err, st.want)
		}
	}
}

func TestHeaderLayout(t *testing.T) {
	key := testKey(t, 11)
	ctx := testCtx()
	s, err := NewSealer(key.PublicKey(), ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Header()
	want := HeaderFixedSize + len(ctx.Federation) + len(ctx.AggregatorMeasurement) + len(ctx.Participant)
	if len(h) != want || want != 1172+13+48+9 {
		t.Fatalf("header is %d bytes, want %d", len(h), want)
	}
	if h[0] != Version || binary.BigEndian.Uint16(h[1:]) != KEMID || binary.BigEndian.Uint16(h[3:]) != KDFID ||
		binary.BigEndian.Uint16(h[5:]) != AEADID || binary.BigEndian.Uint64(h[7:]) != ctx.Round {
		t.Fatalf("fixed fields: %x", h[:15])
	}
	if int(h[15]) != len(ctx.Federation) || string(h[16:16+len(ctx.Federation)]) != ctx.Federation {
		t.Fatal("federation field")
	}
	p, err := parseHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.measurement, ctx.AggregatorMeasurement) || string(p.participant) != ctx.Participant ||
		len(p.enc) != EncSize || len(p.confirm) != ConfirmSize {
		t.Fatalf("parsed header %+v", p)
	}
	if len(key.PublicKey()) != PublicKeySize {
		t.Fatal("public key size")
	}
	if MaxCiphertextChunk != stream.MaxChunkSize {
		t.Fatalf("MaxCiphertextChunk %d != stream.MaxChunkSize %d", MaxCiphertextChunk, stream.MaxChunkSize)
	}
}

// TestBindingEncodingsAreInjective checks that moving bytes between
// adjacent fields changes info and the AAD.
func TestBindingEncodingsAreInjective(t *testing.T) {
	a := Context{Federation: "ab", Round: 1, AggregatorMeasurement: []byte("c"), Participant: "d"}
	b := Context{Federation: "a", Round: 1, AggregatorMeasurement: []byte("bc"), Participant: "d"}
	c := Context{Federation: "ab", Round: 1, AggregatorMeasurement: []byte("cd"), Participant: "x"}
	if bytes.Equal(a.info(), b.info()) || bytes.Equal(a.info(), c.info()) {
		t.Fatal("info collides")
	}
	p1 := Context{Participant: "p", Round: 1}.aadPrefix()
	p2 := Context{Participant: "p", Round: 2}.aadPrefix()
	if bytes.Equal(appendAAD(bytes.Clone(p1), 0, false), appendAAD(bytes.Clone(p1), 0, true)) ||
		bytes.Equal(appendAAD(bytes.Clone(p1), 0, false), appendAAD(bytes.Clone(p1), 1, false)) ||
		bytes.Equal(appendAAD(bytes.Clone(p1), 0, false), appendAAD(bytes.Clone(p2), 0, false)) {
		t.Fatal("AAD collides")
	}
}

func TestNewRoundKey(t *testing.T) {
	a, b := testKey(t, 12), testKey(t, 12)
	if !bytes.Equal(a.PublicKey(), b.PublicKey()) {
		t.Fatal("same randomness, different keys")
	}
	if c := testKey(t, 13); bytes.Equal(a.PublicKey(), c.PublicKey()) {
		t.Fatal("different randomness, same key")
	}
	if _, err := NewRoundKey(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("short randomness accepted")
	}
	k, err := NewRoundKey(nil)
	if err != nil || len(k.PublicKey()) != PublicKeySize {
		t.Fatalf("NewRoundKey(nil): %v", err)
	}
}

func TestConcurrentStreams(t *testing.T) {
	key := testKey(t, 14)
	type job struct {
		ctx     Context
		payload []byte
		hdr     []byte
		chunks  []sealed
	}
	jobs := make([]job, 16)
	for i := range jobs {
		ctx := testCtx()
		ctx.Participant = "p" + string(rune('a'+i))
		payload := bytes.Repeat([]byte{byte(i)}, 5000)
		hdr, chunks := sealStream(t, key.PublicKey(), ctx, payload, 1000, i%2 == 0)
		jobs[i] = job{ctx, payload, hdr, chunks}
	}
	k2 := testKey(t, 15)
	hdr2, chunks2 := sealStream(t, k2.PublicKey(), testCtx(), make([]byte, 10000), 100, false)

	var wg sync.WaitGroup
	errs := make(chan error, len(jobs)+1)
	for _, j := range jobs {
		wg.Go(func() {
			o, err := NewOpener(key, j.hdr, j.ctx)
			if err != nil {
				errs <- err
				return
			}
			got, err := openAll(o, j.chunks)
			if err == nil && !bytes.Equal(got, j.payload) {
				err = errors.New("payload differs")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	// Destroying a key while one of its streams is being opened must be
	// race-free and end that stream with ErrKeyDestroyed.
	wg.Go(func() {
		o, err := NewOpener(k2, hdr2, testCtx())
		if err != nil {
			errs <- err
			return
		}
		go k2.Destroy()
		for _, c := range chunks2 {
			if _, err := o.Open(c.seq, c.ct, c.last); err != nil {
				if !errors.Is(err, ErrKeyDestroyed) {
					errs <- err
				}
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestReplayMemoryIsBounded checks ErrTooManyStreams without opening 65536
// streams.
func TestReplayMemoryIsBounded(t *testing.T) {
	key := testKey(t, 16)
	for i := range MaxStreamsPerKey {
		var id [sha256.Size]byte
		binary.BigEndian.PutUint64(id[:], uint64(i))
		key.seen[id] = struct{}{}
	}
	hdr, _ := sealStream(t, key.PublicKey(), testCtx(), []byte("x"), 1, false)
	if _, err := NewOpener(key, hdr, testCtx()); !errors.Is(err, ErrTooManyStreams) {
		t.Fatalf("err = %v", err)
	}
}
