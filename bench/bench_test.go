package bench_test

import (
	"strings"
	"testing"

	"github.com/confed/confed/bench"
)

// The benchmarks run the rows of bench.Suite, one Benchmark per group, at
// FullSizes (ShortSizes with -short):
//
//	go test -bench . ./bench/
//	go test -short -bench 'Update/ingest' ./bench/
//
// Each reports MB/s (payload bytes, b.SetBytes), allocs/op and, for the
// memory-bound rows, memGB/s. The ratios to the baselines are printed by
// go run ./bench/cmd/benchtable.

func BenchmarkMem(b *testing.B)         { runGroup(b, "Mem") }
func BenchmarkAccumulate(b *testing.B)  { runGroup(b, "Accumulate") }
func BenchmarkUpdate(b *testing.B)      { runGroup(b, "Update") }
func BenchmarkSafetensors(b *testing.B) { runGroup(b, "Safetensors") }

func sizes() bench.Sizes {
	if testing.Short() {
		return bench.ShortSizes
	}
	return bench.FullSizes
}

func runGroup(b *testing.B, group string) {
	ran := false
	for _, c := range bench.Suite(sizes()) {
		if c.Group() == group {
			b.Run(strings.TrimPrefix(c.Name, group+"/"), c.Bench)
			ran = true
		}
	}
	if !ran {
		b.Fatalf("no case in group %q", group)
	}
}
