package bench

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Sizes are the problem sizes of one run of the suite.
type Sizes struct {
	// Floats is the length of the float32 vectors of the Mem and
	// Accumulate rows; at full size it is well beyond the last-level cache.
	Floats int `json:"floats"`
	// Params are the parameter counts of the Update (ingest) rows.
	Params []int `json:"params"`
	// Codec is the parameter count of the Safetensors rows.
	Codec int `json:"codec"`
}

// Problem sizes.
var (
	// FullSizes is what make bench and go test -bench measure: 64 MiB
	// vectors (16Mi float32, larger than this machine class's 32 MiB L3),
	// updates of 1M and 10M parameters, a 10M-parameter codec model.
	FullSizes = Sizes{Floats: 16 << 20, Params: []int{1_000_000, 10_000_000}, Codec: 10_000_000}
	// ShortSizes is for a quick check (--short, go test -short -bench):
	// 4 MiB vectors, which fit in cache, so ratios to bandwidth differ.
	ShortSizes = Sizes{Floats: 1 << 20, Params: []int{100_000, 1_000_000}, Codec: 1_000_000}
	// TinySizes only checks that every body runs (TestSuiteTiny).
	TinySizes = Sizes{Floats: 4 << 10, Params: []int{2_000}, Codec: 2_000}
)

// Case is one row of the suite.
type Case struct {
	// Name is "Group/variant/size". The go test benchmark is
	// Benchmark<Group> with sub-benchmark "variant/size", so
	// go test -bench 'Update/ingest' and benchtable --filter 'Update/ingest'
	// select the same rows.
	Name string
	// Baseline is the Name of the Case this one is compared with; it comes
	// earlier in the suite. Empty for a reference row (memory bandwidth).
	Baseline string
	// Bench is the benchmark body, bound to its size.
	Bench func(b *testing.B)
}

// Group returns the part of the name before the first '/'.
func (c Case) Group() string {
	g, _, _ := strings.Cut(c.Name, "/")
	return g
}

// Suite returns the cases for the given sizes, each after its baseline.
func Suite(s Sizes) []Case {
	n := s.Floats
	copyName := "Mem/copy/n=" + Label(n)
	naiveName := "Accumulate/naive/n=" + Label(n)
	cases := []Case{
		{Name: copyName, Bench: func(b *testing.B) { MemCopy(b, n) }},
		{Name: "Mem/sum/n=" + Label(n), Baseline: copyName, Bench: func(b *testing.B) { MemSum(b, n) }},
		{Name: naiveName, Baseline: copyName, Bench: func(b *testing.B) { AccumulateNaive(b, n) }},
		{Name: "Accumulate/fedavg/n=" + Label(n), Baseline: naiveName, Bench: func(b *testing.B) { AccumulateFedAvg(b, n) }},
	}
	updateCopy := map[int]string{}
	for _, d := range s.Params {
		cp := "Update/copy/d=" + Label(d)
		sha := "Update/sha256/d=" + Label(d)
		updateCopy[d] = cp
		cases = append(cases,
			Case{Name: cp, Bench: func(b *testing.B) { UpdateCopy(b, d) }},
			Case{Name: sha, Baseline: cp, Bench: func(b *testing.B) { UpdateSHA256(b, d) }},
			Case{Name: "Update/ingest/d=" + Label(d), Baseline: sha, Bench: func(b *testing.B) { UpdateIngest(b, d) }},
		)
	}
	d := s.Codec
	cp, ok := updateCopy[d]
	if !ok {
		cp = "Safetensors/copy/d=" + Label(d)
		cases = append(cases, Case{Name: cp, Bench: func(b *testing.B) { UpdateCopy(b, d) }})
	}
	cases = append(cases,
		Case{Name: "Safetensors/encode/d=" + Label(d), Baseline: cp, Bench: func(b *testing.B) { SafetensorsEncode(b, d) }},
		Case{Name: "Safetensors/decode/d=" + Label(d), Baseline: cp, Bench: func(b *testing.B) { SafetensorsDecode(b, d) }},
	)
	return append(cases, KernelCases(s)...)
}

// Check reports whether cases are well formed: names unique and of the form
// "Group/variant/size", every baseline naming an earlier case.
func Check(cases []Case) error {
	seen := map[string]bool{}
	var errs []error
	for _, c := range cases {
		if strings.Count(c.Name, "/") < 1 || slices.Contains(strings.Split(c.Name, "/"), "") {
			errs = append(errs, fmt.Errorf("case %q: want a name Group/variant/size", c.Name))
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("case %q: duplicate name", c.Name))
		}
		if c.Baseline != "" && !seen[c.Baseline] {
			errs = append(errs, fmt.Errorf("case %q: baseline %q is not an earlier case", c.Name, c.Baseline))
		}
		if c.Bench == nil {
			errs = append(errs, fmt.Errorf("case %q: no body", c.Name))
		}
		seen[c.Name] = true
	}
	return errors.Join(errs...)
}

// Label formats a size compactly: 16Mi (binary multiples), 10M, 2k, 4Ki.
func Label(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMi", n>>20)
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKi", n>>10)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// testing.Benchmark discards a failing benchmark's output, so bodies report
// failures through Fatal, which also records the message for Run.
var (
	failMu  sync.Mutex
	failMsg string
)

// Fatal fails the benchmark with the formatted message, which Run returns.
func Fatal(b *testing.B, format string, args ...any) {
	b.Helper()
	msg := fmt.Sprintf(format, args...)
	failMu.Lock()
	if failMsg == "" {
		failMsg = msg
	}
	failMu.Unlock()
	b.Fatal(msg)
}

// Run runs f with testing.Benchmark (for the time or count set by the
// test.benchtime flag, default 1s) and returns its result, or an error with
// the body's Fatal message if it failed. Runs must not overlap.
func Run(f func(b *testing.B)) (testing.BenchmarkResult, error) {
	failMu.Lock()
	failMsg = ""
	failMu.Unlock()
	r := testing.Benchmark(f)
	if r.N > 0 {
		return r, nil
	}
	failMu.Lock()
	msg := failMsg
	failMu.Unlock()
	if msg == "" {
		msg = "no iterations and no message (b.Fatal, b.Skip or b.FailNow outside bench.Fatal?)"
	}
	return r, fmt.Errorf("benchmark failed: %s", msg)
}

// reportMemBandwidth reports, as the memGB/s metric, the memory traffic of
// the run: trafficPerOp bytes read plus written per operation. Call it after
// the b.Loop loop.
func reportMemBandwidth(b *testing.B, trafficPerOp int64) {
	if s := b.Elapsed().Seconds(); s > 0 && b.N > 0 {
		b.ReportMetric(float64(trafficPerOp)*float64(b.N)/s/1e9, MemMetric)
	}
}

// MemMetric is the unit of the memory-traffic metric that memory-bound bodies
// report (bytes read plus bytes written, per second, in GB/s).
const MemMetric = "memGB/s"
