package strategy

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks at the brief's reference size: 10 updates of one million
// parameters (40 MB of float32). Bytes/s count the updates' float32 bytes
// aggregated per operation (updates × parameters × 4), whatever the number
// of passes; "plain" is the unsealed test layout, to show what sealing
// costs.
const (
	benchUpdates = 10
	benchParams  = 1_000_000
)

func benchSpill(b *testing.B, sealed bool) *Spill {
	s, err := newSpill(b.TempDir(), benchParams, DefaultSegment, sealed)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	rng := rand.New(rand.NewPCG(12, 12))
	up := make([]float32, benchParams)
	for u := range benchUpdates {
		for j := range up {
			up[j] = float32(rng.NormFloat64())
		}
		if err := s.Append(up, float64(u+1)); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkAggregate(b *testing.B) {
	for _, sealed := range []bool{true, false} {
		mode := map[bool]string{true: "sealed", false: "plain"}[sealed]
		s := benchSpill(b, sealed)
		for _, c := range []RobustConfig{
			{Name: Median},
			{Name: TrimmedMean, TrimFraction: 0.2},
			{Name: Krum, Byzantine: 2},
			{Name: MultiKrum, Byzantine: 2},
		} {
			b.Run(fmt.Sprintf("%s/%s/N=%d/d=%d", c.Name, mode, benchUpdates, benchParams), func(b *testing.B) {
				out := make([]float64, benchParams)
				b.SetBytes(benchUpdates * benchParams * 4)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Aggregate(s, c, out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkSpillAppend(b *testing.B) {
	for _, sealed := range []bool{true, false} {
		b.Run(map[bool]string{true: "sealed", false: "plain"}[sealed], func(b *testing.B) {
			up := make([]float32, benchParams)
			for j := range up {
				up[j] = float32(j)
			}
			s, err := newSpill(b.TempDir(), benchParams, DefaultSegment, sealed)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.SetBytes(benchParams * 4)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == benchUpdates { // keep the file at most 10 updates long
					s.Close()
					if s, err = newSpill(b.TempDir(), benchParams, DefaultSegment, sealed); err != nil {
						b.Fatal(err)
					}
					i = 0
				}
				if err := s.Append(up, 1); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkOptimizerStep(b *testing.B) {
	for _, name := range OptimizerNames {
		b.Run(fmt.Sprintf("%s/d=%d", name, benchParams), func(b *testing.B) {
			c, _ := Defaults(name)
			opt, err := NewOptimizer(c, benchParams)
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float32, benchParams)
			d := make([]float64, benchParams)
			for j := range d {
				d[j] = 1e-3 * float64(j%7-3)
			}
			b.SetBytes(benchParams * 4)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := opt.Step(x, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
