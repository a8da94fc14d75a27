package strategy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
)

// Spill segment geometry.
const (
	// DefaultSegment is the number of float32 values sealed together
	// (16 KiB of plaintext, plus a 16-byte tag).
	DefaultSegment = 4096
	// writeBatch bounds the bytes Append hands to one WriteAt.
	writeBatch = 256 << 10
)

// Spill keeps a round's updates in a temporary file so that robust rules,
// which need all updates at once, run in memory independent of their
// number. Updates are appended one after another; Aggregate reads them back
// a column block at a time.
//
// The file lives on the host's disk, outside the TEE, so it is sealed: each
// segment of DefaultSegment float32 values (little-endian, the update's
// values in flat order) is encrypted and authenticated with AES-256-GCM
// under a key drawn when the Spill is created, held only in this process's
// memory and never written. The host sees the file's size and the order in
// which it is read — which does not depend on the values — but not a value,
// and any change to the file (a flipped bit, a swapped, replayed or
// truncated segment) makes the read fail. Each segment's nonce is the
// Append attempt number (unique for the key) and the segment index; the
// update index is bound as additional data.
//
// Layout: update u starts at byte u·S with S = 4n + 16·⌈n/DefaultSegment⌉;
// within it, segment s (values [s·DefaultSegment, min((s+1)·DefaultSegment,
// n))) starts at s·(4·DefaultSegment + 16) and is the ciphertext of those
// values followed by its tag.
//
// A Spill is safe for concurrent use. Close removes the file.
type Spill struct {
	n    int
	seg  int         // float32 values per segment
	aead cipher.AEAD // nil only in tests (plaintext layout)
	tag  int         // aead.Overhead(), or 0

	mu      sync.Mutex
	f       *os.File
	path    string
	weights []float64
	gens    []uint64 // attempt number under which update u was sealed
	attempt uint64
	wbuf    []byte
	nonce   [12]byte
	ad      [8]byte
	closed  bool
}

// NewSpill creates an empty spill for updates of n parameters, in a new
// temporary file (os.CreateTemp) in dir; dir "" means os.TempDir().
func NewSpill(dir string, n int) (*Spill, error) {
	return newSpill(dir, n, DefaultSegment, true)
}

func newSpill(dir string, n, seg int, sealed bool) (*Spill, error) {
	if n <= 0 {
		return nil, fmt.Errorf("strategy: spill: %d parameters, want > 0", n)
	}
	if seg <= 0 {
		return nil, fmt.Errorf("strategy: spill: segment of %d values", seg)
	}
	if nseg := (n + seg - 1) / seg; uint64(nseg) > math.MaxUint32 {
		return nil, fmt.Errorf("strategy: spill: %d segments per update, at most %d", nseg, uint32(math.MaxUint32))
	}
	s := &Spill{n: n, seg: seg}
	if sealed {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("strategy: spill: key: %w", err)
		}
		block, err := aes.NewCipher(key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("strategy: spill: %w", err)
		}
		if s.aead, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("strategy: spill: %w", err)
		}
		s.tag = s.aead.Overhead()
	}
	f, err := os.CreateTemp(dir, "confed-spill-*")
	if err != nil {
		return nil, fmt.Errorf("strategy: spill: %w", err)
	}
	s.f, s.path = f, f.Name()
	return s, nil
}

// Params returns the number of parameters of each update.
func (s *Spill) Params() int { return s.n }

// Len returns the number of updates appended.
func (s *Spill) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.weights)
}

// Weight returns the weight given with update i (its example count).
func (s *Spill) Weight(i int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.weights[i]
}

// Path returns the file's name (for diagnostics and tests).
func (s *Spill) Path() string { return s.path }

// segBytes is the stored size of a full segment.
func (s *Spill) segBytes() int64 { return int64(s.seg)*4 + int64(s.tag) }

// stride is the stored size of one update.
func (s *Spill) stride() int64 {
	nseg := int64((s.n + s.seg - 1) / s.seg)
	return int64(s.n)*4 + nseg*int64(s.tag)
}

// Append adds update with its weight (typically its example count, > 0 and
// finite). update must hold n finite values; it is not retained. Nothing is
// appended if Append fails. Memory used is bounded by one write batch
// (256 KiB), whatever n.
func (s *Spill) Append(update []float32, weight float64) error {
	if len(update) != s.n {
		return fmt.Errorf("strategy: spill: update of %d values, want %d", len(update), s.n)
	}
	if !(weight > 0) || math.IsInf(weight, 0) {
		return fmt.Errorf("strategy: spill: weight %v, want a positive finite number", weight)
	}
	for i, v := range update {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("strategy: spill: value %d is %v", i, v)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("strategy: spill: closed")
	}
	u := len(s.weights)
	s.attempt++ // a new nonce space even if an earlier attempt at u failed
	gen := s.attempt
	segPerBatch := max(1, writeBatch/int(s.segBytes()))
	if s.wbuf == nil {
		s.wbuf = make([]byte, int64(segPerBatch)*s.segBytes())
	}
	base := int64(u) * s.stride()
	binary.BigEndian.PutUint64(s.ad[:], uint64(u))
	for lo := 0; lo < s.n; {
		buf := s.wbuf[:0]
		first := lo / s.seg
		for k := 0; k < segPerBatch && lo < s.n; k++ {
			hi := min(lo+s.seg, s.n)
			start := len(buf)
			for _, v := range update[lo:hi] {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if s.aead != nil {
				segNonce(&s.nonce, gen, uint32(lo/s.seg))
				buf = s.aead.Seal(buf[:start], s.nonce[:], buf[start:], s.ad[:])
			}
			lo = hi
		}
		if _, err := s.f.WriteAt(buf, base+int64(first)*s.segBytes()); err != nil {
			return fmt.Errorf("strategy: spill: write: %w", err)
		}
	}
	s.weights = append(s.weights, weight)
	s.gens = append(s.gens, gen)
	return nil
}

func segNonce(nonce *[12]byte, gen uint64, seg uint32) {
	binary.BigEndian.PutUint64(nonce[:8], gen)
	binary.BigEndian.PutUint32(nonce[8:], seg)
}

// Close removes the file. It is safe to call more than once; later calls
// return nil.
func (s *Spill) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.aead = nil
	err := s.f.Close()
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("strategy: spill: close: %w", err)
	}
	return nil
}

// blockReader reads column blocks of updates, reusing its buffers.
type blockReader struct {
	s     *Spill
	raw   []byte
	ad    []byte
	nonce []byte
	// BytesRead counts bytes read from the file.
	bytesRead int64
}

func newBlockReader(s *Spill, block int) *blockReader {
	// A block of w values touches at most ⌈w/seg⌉+1 segments.
	nseg := int64((block+s.seg-1)/s.seg + 1)
	return &blockReader{s: s, raw: make([]byte, nseg*s.segBytes()), ad: make([]byte, 8), nonce: make([]byte, 12)}
}

// read decodes values [lo, hi) of update u into dst (len hi−lo). The caller
// holds s.mu.
func (r *blockReader) read(u, lo, hi int, dst []float32) error {
	s := r.s
	s0, s1 := lo/s.seg, (hi-1)/s.seg
	segStart := int64(s0) * s.segBytes()
	end := min(int64(s1+1)*s.segBytes(), s.stride())
	raw := r.raw[:end-segStart]
	if _, err := s.f.ReadAt(raw, int64(u)*s.stride()+segStart); err != nil {
		return fmt.Errorf("strategy: spill: read update %d: %w", u, err)
	}
	r.bytesRead += int64(len(raw))
	binary.BigEndian.PutUint64(r.ad, uint64(u))
	k := 0
	for sg := s0; sg <= s1; sg++ {
		off := int64(sg-s0) * s.segBytes()
		vals := min(s.seg, s.n-sg*s.seg)
		chunk := raw[off : off+int64(vals*4+s.tag)]
		plain := chunk
		if s.aead != nil {
			segNonce((*[12]byte)(r.nonce), s.gens[u], uint32(sg))
			var err error
			if plain, err = s.aead.Open(chunk[:0], r.nonce, chunk, r.ad); err != nil {
				return fmt.Errorf("strategy: spill: update %d segment %d fails authentication: the file was modified", u, sg)
			}
		}
		a := max(lo, sg*s.seg) - sg*s.seg
		b := min(hi, sg*s.seg+vals) - sg*s.seg
		words := plain[4*a : 4*b]
		out := dst[k : k+b-a]
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(words[4*i:]))
		}
		k += b - a
	}
	return nil
}
