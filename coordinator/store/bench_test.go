package store_test

import (
	"io"
	"testing"

	"github.com/confed/confed/coordinator/store/storetest"
)

// BenchmarkModelWrite commits successive 128 MiB models in 1 MiB chunks:
// throughput must not fall as the file grows.
func BenchmarkModelWrite(b *testing.B) {
	s := storetest.Open(b)
	appendGenesis(b, s)
	model := modelBytes(1, 128<<20)
	b.SetBytes(int64(len(model)))
	round := uint64(0)
	for b.Loop() {
		commitModel(b, s, round, model, 0)
		round++
	}
}

// BenchmarkModelRead streams a 128 MiB model with chunk-sized reads.
func BenchmarkModelRead(b *testing.B) {
	s := storetest.Open(b)
	appendGenesis(b, s)
	model := modelBytes(1, 128<<20)
	commitModel(b, s, 0, model, 0)
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(model)))
	for b.Loop() {
		r, err := s.OpenModel(0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
			b.Fatal(err)
		}
	}
}
