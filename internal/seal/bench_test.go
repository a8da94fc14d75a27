package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"runtime"
	"testing"
)

const benchChunk = 1 << 20

// benchStreamChunks is the length, in 1 MiB chunks, of the stream that
// BenchmarkOpen1MiB opens over and over.
const benchStreamChunks = 32

// gcBallast gives a benchmark the same live heap as BenchmarkOpen1MiB (its
// sealed stream), so that the garbage collector's pacing, which scales with
// the live heap, is the same in all the 1 MiB benchmarks. Without it a
// benchmark with a tiny live heap collects every few iterations and looks
// twice as slow.
func gcBallast() []byte { return make([]byte, benchChunk*benchStreamChunks) }

// BenchmarkOpen1MiB measures Opener.Open of 1 MiB chunks: the chunk
// AEAD's AES-256-GCM open with the chunk AAD, plus this package's checks
// and a new 1 MiB output buffer per chunk. Compare its MB/s with
// BenchmarkAESGCMBaseline, and BenchmarkOpenTo1MiB (no allocation) with
// BenchmarkAESGCMBaselineInPlace.
//
// The stream is sealed once; every benchStreamChunks chunks the replay
// memory is cleared and a new Opener is made for the same header, with the
// timer stopped (NewOpener is measured by BenchmarkNewOpener), so that the
// timed loop allocates exactly what the baseline allocates.
func BenchmarkOpen1MiB(b *testing.B) { benchOpen(b, false) }

// BenchmarkOpenTo1MiB is BenchmarkOpen1MiB with Opener.OpenTo into a
// reused buffer, as the aggregator opens chunks (in place, there).
func BenchmarkOpenTo1MiB(b *testing.B) { benchOpen(b, true) }

func benchOpen(b *testing.B, reuse bool) {
	key := testKey(b, 100)
	ctx := testCtx()
	hdr, chunks := sealStream(b, key.PublicKey(), ctx, make([]byte, benchChunk*benchStreamChunks), benchChunk, false)
	var o *Opener
	next := len(chunks)
	dst := make([]byte, 0, benchChunk)
	b.SetBytes(benchChunk)
	b.ReportAllocs()
	for b.Loop() {
		if next == len(chunks) {
			b.StopTimer()
			key.mu.Lock()
			clear(key.seen)
			key.mu.Unlock()
			var err error
			if o, err = NewOpener(key, hdr, ctx); err != nil {
				b.Fatal(err)
			}
			next = 0
			b.StartTimer()
		}
		c := chunks[next]
		var err error
		if reuse {
			_, err = o.OpenTo(dst[:0], c.seq, c.ct, c.last)
		} else {
			_, err = o.Open(c.seq, c.ct, c.last)
		}
		if err != nil {
			b.Fatal(err)
		}
		next++
	}
}

// BenchmarkAESGCMBaseline opens the same amount of data with plain
// AES-256-GCM (crypto/cipher, allocating the output as Open does): the
// floor for BenchmarkOpen1MiB.
func BenchmarkAESGCMBaseline(b *testing.B) {
	block, err := aes.NewCipher(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, gcm.NonceSize())
	aad := appendAAD(testCtx().aadPrefix(), 3, false)
	ct := gcm.Seal(nil, nonce, make([]byte, benchChunk), aad)
	ballast := gcBallast()
	b.SetBytes(benchChunk)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gcm.Open(nil, nonce, ct, aad); err != nil {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(ballast)
}

// BenchmarkAESGCMBaselineInPlace opens into a reused buffer: the cost of
// AES-256-GCM alone, without an output allocation: the floor for
// BenchmarkOpenTo1MiB.
func BenchmarkAESGCMBaselineInPlace(b *testing.B) {
	block, err := aes.NewCipher(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, gcm.NonceSize())
	aad := appendAAD(testCtx().aadPrefix(), 3, false)
	ct := gcm.Seal(nil, nonce, make([]byte, benchChunk), aad)
	dst := make([]byte, 0, benchChunk)
	b.SetBytes(benchChunk)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gcm.Open(dst[:0], nonce, ct, aad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal1MiB measures Sealer.Seal of 1 MiB chunks.
func BenchmarkSeal1MiB(b *testing.B) {
	key := testKey(b, 101)
	ctx := testCtx()
	pt := make([]byte, benchChunk)
	b.SetBytes(benchChunk)
	b.ReportAllocs()
	s, err := NewSealer(key.PublicKey(), ctx)
	if err != nil {
		b.Fatal(err)
	}
	ballast := gcBallast()
	var seq uint64
	for b.Loop() {
		if _, err := s.Seal(seq, pt, false); err != nil {
			b.Fatal(err)
		}
		seq++
	}
	runtime.KeepAlive(ballast)
}

// BenchmarkNewSealer is the per-stream cost on the participant: X-Wing
// encapsulation, key schedule, key confirmation.
func BenchmarkNewSealer(b *testing.B) {
	key := testKey(b, 102)
	ctx := testCtx()
	pub := key.PublicKey()
	for b.Loop() {
		if _, err := NewSealer(pub, ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewOpener is the per-stream cost on the aggregator: header
// parsing, X-Wing decapsulation, key schedule, key confirmation, replay
// check.
func BenchmarkNewOpener(b *testing.B) {
	key := testKey(b, 103)
	ctx := testCtx()
	headers := make([][]byte, 0, 1024)
	fill := func() {
		key.mu.Lock()
		clear(key.seen) // stay below MaxStreamsPerKey
		key.mu.Unlock()
		headers = headers[:0]
		for range cap(headers) {
			s, err := NewSealer(key.PublicKey(), ctx)
			if err != nil {
				b.Fatal(err)
			}
			headers = append(headers, s.Header())
		}
	}
	fill()
	i := 0
	for b.Loop() {
		if i == len(headers) {
			b.StopTimer()
			fill()
			i = 0
			b.StartTimer()
		}
		if _, err := NewOpener(key, headers[i], ctx); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
