package strategy

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// allocatedBy returns the bytes the heap allocated while f ran.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestMemoryBound checks that neither Append nor Aggregate allocates
// anything proportional to updates × parameters. With 16 updates of 2¹⁸
// parameters (16 MiB of float32 in all, 1 MiB each) and blocks of 4096
// columns:
//
//   - Append allocates at most one 256 KiB write batch, once per spill;
//   - Aggregate (median, trimmed mean, Krum, Multi-Krum) allocates at most
//     1 MiB: 16 × 4096 float32 rows (256 KiB), two sealed segments of read
//     buffer (32 KiB), the 16 × 16 distance matrix and small change.
//
// Both bounds are 1/16 of updates × parameters, and the out vector (the
// caller's, 2 MiB) is allocated outside the measurement.
func TestMemoryBound(t *testing.T) {
	const (
		nUpd  = 16
		d     = 1 << 18
		block = 4096
		bound = 1 << 20 // bytes
	)
	total := uint64(nUpd * d * 4)
	if bound > total/16 {
		t.Fatal("bound too loose to prove anything")
	}
	s, err := NewSpill(t.TempDir(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(11, 11))
	up := make([]float32, d)
	var appendBytes uint64
	for u := range nUpd {
		for j := range up {
			up[j] = float32(rng.NormFloat64())
		}
		appendBytes += allocatedBy(func() {
			if err := s.Append(up, float64(u+1)); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Logf("Append: %d bytes allocated over %d updates of %d bytes", appendBytes, nUpd, d*4)
	if appendBytes > 300<<10 {
		t.Errorf("Append allocated %d bytes for %d updates, want ≤ 300 KiB", appendBytes, nUpd)
	}
	out := make([]float64, d)
	for _, c := range []RobustConfig{
		{Name: Median, BlockSize: block},
		{Name: TrimmedMean, TrimFraction: 0.25, BlockSize: block},
		{Name: Krum, Byzantine: 3, BlockSize: block},
		{Name: MultiKrum, Byzantine: 3, BlockSize: block, Exact: []Range{{0, 100}}},
	} {
		var rep Report
		got := allocatedBy(func() {
			if rep, err = Aggregate(s, c, out); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%-12s allocated %7d bytes (updates × parameters = %d bytes); read %d bytes", c.Name, got, total, rep.BytesRead)
		if got > bound {
			t.Errorf("%s allocated %d bytes, want ≤ %d", c.Name, got, bound)
		}
	}
}
