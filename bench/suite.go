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

	// FlowerN and FlowerD are the sizes of the Flower rows (flower.go): for
	// each d in FlowerD and each n in FlowerN, n updates of d parameters
	// aggregated by Flower's numpy FedAvg and by confed.
	FlowerN []int `json:"flower_n,omitempty"`
	FlowerD []int `json:"flower_d,omitempty"`
	// PeakN are the update counts of the Peak rows (peak.go), of PeakD
	// parameters each.
	PeakN []int `json:"peak_n,omitempty"`
	PeakD int   `json:"peak_d,omitempty"`
	// StreamFeatures are the feature counts F of the Stream rows
	// (stream.go): a logistic-regression model of F features, whose updates
	// have 3F+1 parameters.
	StreamFeatures []int `json:"stream_features,omitempty"`
}

// Problem sizes.
var (
	// FullSizes is what make bench and go test -bench measure: 64 MiB
	// vectors (16Mi float32, larger than this machine class's 32 MiB L3),
	// updates of 1M and 10M parameters, a 10M-parameter codec model.
	FullSizes = Sizes{Floats: 16 << 20, Params: []int{1_000_000, 10_000_000}, Codec: 10_000_000,
		FlowerN: []int{10, 50}, FlowerD: []int{1_000_000, 10_000_000},
		PeakN: []int{10, 50, 100}, PeakD: 25_000_000,
		StreamFeatures: []int{1_000_000}}
	// ShortSizes is for a quick check (--short, go test -short -bench):
	// 4 MiB vectors, which fit in cache, so ratios to bandwidth differ.
	ShortSizes = Sizes{Floats: 1 << 20, Params: []int{100_000, 1_000_000}, Codec: 1_000_000,
		FlowerN: []int{10}, FlowerD: []int{1_000_000},
		PeakN: []int{10, 50}, PeakD: 1_000_000,
		StreamFeatures: []int{100_000}}
	// TinySizes only checks that every body runs (TestSuiteTiny).
	TinySizes = Sizes{Floats: 4 << 10, Params: []int{2_000}, Codec: 2_000,
		FlowerN: []int{2}, FlowerD: []int{2_000},
		PeakN: []int{2, 3}, PeakD: 2_000,
		StreamFeatures: []int{1_000}}
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
	// Once marks a heavy row (one operation takes seconds, or it starts
	// processes): benchtable runs it in the first round only, so its
	// figures are one run, whatever --count says. Its baseline must be
	// Once too.
	Once bool
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
	cases = append(cases, KernelCases(s)...)
	return append(cases, scaleCases(s)...)
}

// Check reports whether cases are well formed: names unique and of the form
// "Group/variant/size", every baseline naming an earlier case.
func Check(cases []Case) error {
	seen, once := map[string]bool{}, map[string]bool{}
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
		if c.Baseline != "" && c.Once && !once[c.Baseline] {
			errs = append(errs, fmt.Errorf("case %q runs once but its baseline %q does not", c.Name, c.Baseline))
		}
		once[c.Name] = c.Once
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
// failures through Fatal (and skips through Skip), which also record the
// message for Run.
var (
	failMu  sync.Mutex
	failMsg string
	skipMsg string
)

// ErrSkipped is wrapped by Run's error for a body that called Skip: the row
// could not run here (a missing tool), which is not a failure.
var ErrSkipped = errors.New("skipped")

// Skip skips the benchmark with the formatted reason, which Run returns
// wrapped in ErrSkipped. Use it only for what the machine lacks (python3
// with numpy), never to hide a failure.
func Skip(b *testing.B, format string, args ...any) {
	b.Helper()
	msg := fmt.Sprintf(format, args...)
	failMu.Lock()
	if skipMsg == "" {
		skipMsg = msg
	}
	failMu.Unlock()
	b.Skip(msg)
}

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
// the body's Fatal message if it failed (wrapping ErrSkipped, with the
// reason, if it called Skip). Runs must not overlap.
func Run(f func(b *testing.B)) (testing.BenchmarkResult, error) {
	failMu.Lock()
	failMsg, skipMsg = "", ""
	failMu.Unlock()
	r := testing.Benchmark(f)
	if r.N > 0 {
		return r, nil
	}
	failMu.Lock()
	msg, skip := failMsg, skipMsg
	failMu.Unlock()
	if msg == "" && skip != "" {
		return r, fmt.Errorf("%w: %s", ErrSkipped, skip)
	}
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
