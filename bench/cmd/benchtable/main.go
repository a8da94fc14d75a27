// Command benchtable runs confed's benchmark suite (package bench) in-process
// with testing.Benchmark, prints a table of throughput with each row's ratio
// to its baseline measured in the same run, and writes the figures as JSON.
//
//	go run ./bench/cmd/benchtable                      # what make bench runs
//	go run ./bench/cmd/benchtable --short              # small sizes, quick check
//	go run ./bench/cmd/benchtable --filter 'Update/' --count 3
//
// A row selected by --filter brings its baseline (and the baseline's
// baseline) along, so every ratio is against a figure from the same run.
// With --count N every row runs N times, rounds interleaved, and the run
// with the median ns/op is reported.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/confed/confed/bench"
)

// Report is the JSON document written to --out.
type Report struct {
	Date       time.Time   `json:"date"`
	GoVersion  string      `json:"go_version"`
	GOOS       string      `json:"goos"`
	GOARCH     string      `json:"goarch"`
	CPU        string      `json:"cpu"`
	NumCPU     int         `json:"num_cpu"`
	GOMAXPROCS int         `json:"gomaxprocs"`
	Sizes      bench.Sizes `json:"sizes"`
	Short      bool        `json:"short"`
	Filter     string      `json:"filter"`
	Benchtime  string      `json:"benchtime"`
	Count      int         `json:"count"`
	// LoadAvg is the 1-minute load average (Linux) before and after the
	// run; other work on the machine skews ratios between rows.
	LoadAvg [2]float64 `json:"load_avg_1m"`
	Rows       []Row       `json:"rows"`
}

// Row is one benchmark's figures (the median run when --count > 1).
type Row struct {
	Name     string `json:"name"`
	Baseline string `json:"baseline,omitempty"`
	// Selected is false for a row run only because a selected row needs it
	// as its baseline.
	Selected bool  `json:"selected"`
	N        int   `json:"iterations"`
	BytesOp  int64 `json:"bytes_per_op"` // payload (b.SetBytes)
	// NsOp is the median over the runs; RunsNsOp lists every run.
	NsOp     float64   `json:"ns_per_op"`
	RunsNsOp []float64 `json:"runs_ns_per_op"`
	GBps     float64   `json:"gb_per_s"` // payload, 1e9 bytes per second
	// Ratio is GBps / the baseline's GBps: above 1 is faster than the
	// baseline. 0 for a reference row.
	Ratio        float64 `json:"ratio,omitempty"`
	MemGBps      float64 `json:"mem_gb_per_s,omitempty"` // memory traffic, memory-bound rows only
	AllocsOp     int64   `json:"allocs_per_op"`
	AllocBytesOp int64   `json:"alloc_bytes_per_op"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	filter := fs.String("filter", "", "run only rows whose name matches this `regexp` (and their baselines)")
	out := fs.String("out", filepath.Join("bench", "results", "latest.json"), "write the figures as JSON to this `file` (\"\" to skip)")
	short := fs.Bool("short", false, "use the small sizes (bench.ShortSizes), for a quick check")
	benchtime := fs.String("benchtime", "1s", "run each row for this long, or N times as Nx (as go test -benchtime)")
	count := fs.Int("count", 3, "run each row `N` times, rounds interleaved, and report the median")
	list := fs.Bool("list", false, "list the rows and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: benchtable [flags]\n\nRuns the bench suite and prints throughput as ratios to baselines measured in the same run.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *count < 1 {
		return fmt.Errorf("--count %d: want at least 1", *count)
	}
	re, err := regexp.Compile(*filter)
	if err != nil {
		return fmt.Errorf("--filter: %w", err)
	}
	// testing.Benchmark reads the test.benchtime flag, which testing.Init
	// registers.
	testing.Init()
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		return fmt.Errorf("--benchtime: %w", err)
	}

	sizes := bench.FullSizes
	if *short {
		sizes = bench.ShortSizes
	}
	cases, selected := pick(bench.Suite(sizes), re)
	if len(cases) == 0 {
		return fmt.Errorf("--filter %q matches no row", *filter)
	}
	if *list {
		for _, c := range cases {
			fmt.Fprintln(stdout, c.Name)
		}
		return nil
	}

	rep := Report{
		Date: time.Now().UTC().Truncate(time.Second), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		CPU: cpuName(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Sizes: sizes, Short: *short, Filter: *filter, Benchtime: *benchtime, Count: *count,
	}
	rep.LoadAvg[0] = loadAvg()
	results := make([][]testing.BenchmarkResult, len(cases))
	for round := range *count {
		for i, c := range cases {
			fmt.Fprintf(stderr, "run %d/%d  %-32s", round+1, *count, c.Name)
			r, err := bench.Run(c.Bench)
			if err != nil {
				fmt.Fprintln(stderr)
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			fmt.Fprintf(stderr, " %12.0f ns/op\n", nsPerOp(r))
			results[i] = append(results[i], r)
		}
	}
	rep.Rows = rows(cases, selected, results)
	rep.LoadAvg[1] = loadAvg()

	printTable(stdout, rep)
	if *out != "" {
		if err := writeJSON(*out, rep); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *out)
	}
	return nil
}

// pick returns the cases matching re plus, transitively, their baselines, in
// suite order, and which of them matched.
func pick(all []bench.Case, re *regexp.Regexp) ([]bench.Case, map[string]bool) {
	byName := map[string]bench.Case{}
	for _, c := range all {
		byName[c.Name] = c
	}
	selected, need := map[string]bool{}, map[string]bool{}
	for _, c := range all {
		if re.MatchString(c.Name) {
			selected[c.Name] = true
			for n := c.Name; n != "" && !need[n]; n = byName[n].Baseline {
				need[n] = true
			}
		}
	}
	var cases []bench.Case
	for _, c := range all {
		if need[c.Name] {
			cases = append(cases, c)
		}
	}
	return cases, selected
}

func rows(cases []bench.Case, selected map[string]bool, results [][]testing.BenchmarkResult) []Row {
	out := make([]Row, len(cases))
	gbps := map[string]float64{}
	for i, c := range cases {
		runs := slices.Clone(results[i])
		slices.SortFunc(runs, func(a, b testing.BenchmarkResult) int { return cmpFloat(nsPerOp(a), nsPerOp(b)) })
		med := runs[(len(runs)-1)/2]
		row := Row{
			Name: c.Name, Baseline: c.Baseline, Selected: selected[c.Name],
			N: med.N, BytesOp: med.Bytes, NsOp: nsPerOp(med),
			MemGBps: med.Extra[bench.MemMetric], AllocsOp: med.AllocsPerOp(), AllocBytesOp: med.AllocedBytesPerOp(),
		}
		for _, r := range results[i] {
			row.RunsNsOp = append(row.RunsNsOp, nsPerOp(r))
		}
		if row.NsOp > 0 {
			row.GBps = float64(row.BytesOp) / row.NsOp
		}
		if base, ok := gbps[c.Baseline]; ok && base > 0 {
			row.Ratio = row.GBps / base
		}
		gbps[c.Name] = row.GBps
		out[i] = row
	}
	return out
}

func printTable(w io.Writer, rep Report) {
	fmt.Fprintf(w, "confed bench  %s  %s %s/%s  cpu: %s  (%d CPUs, GOMAXPROCS %d)\n",
		rep.Date.Format(time.RFC3339), rep.GoVersion, rep.GOOS, rep.GOARCH, rep.CPU, rep.NumCPU, rep.GOMAXPROCS)
	sizes := ""
	if rep.Short {
		sizes = ", short sizes"
	}
	fmt.Fprintf(w, "benchtime %s, count %d (median)%s, load average %.2f before, %.2f after.\n",
		rep.Benchtime, rep.Count, sizes, rep.LoadAvg[0], rep.LoadAvg[1])
	if busy := 0.5; rep.LoadAvg[0] > busy || rep.LoadAvg[1] > busy {
		fmt.Fprintf(w, "WARNING: the machine was busy (load average above %.1f): figures are skewed.\n", busy)
	}
	fmt.Fprintf(w, "GB/s: payload bytes (b.SetBytes) per ns. ratio: GB/s / the baseline row's GB/s (above 1 = faster).\n\n")
	t := [][]string{{"name", "GB/s", "ratio", "baseline", "mem GB/s", "ns/op", "allocs/op", "B/op"}}
	for _, r := range rep.Rows {
		name := r.Name
		if !r.Selected {
			name += " (baseline)"
		}
		ratio, base, mem := "ref", "", "-"
		if r.Baseline != "" {
			ratio, base = fmt.Sprintf("%.3f", r.Ratio), r.Baseline
		}
		if r.MemGBps > 0 {
			mem = fmt.Sprintf("%.2f", r.MemGBps)
		}
		t = append(t, []string{name, fmt.Sprintf("%.2f", r.GBps), ratio, base, mem,
			fmt.Sprintf("%.0f", r.NsOp), fmt.Sprint(r.AllocsOp), bytesLabel(r.AllocBytesOp)})
	}
	left := []bool{true, false, false, true, false, false, false, false}
	widths := make([]int, len(t[0]))
	for _, row := range t {
		for j, cell := range row {
			widths[j] = max(widths[j], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range t {
		var line strings.Builder
		for j, cell := range row {
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(cell))
			if j > 0 {
				line.WriteString("  ")
			}
			if left[j] {
				line.WriteString(cell + pad)
			} else {
				line.WriteString(pad + cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
}

func writeJSON(path string, rep Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func nsPerOp(r testing.BenchmarkResult) float64 {
	if r.N <= 0 {
		return 0
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func bytesLabel(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprint(n)
}

// loadAvg returns the 1-minute load average from /proc/loadavg (Linux), or 0.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return 0
	}
	return l
}

// cpuName returns the processor's model name from /proc/cpuinfo (Linux), or "".
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
