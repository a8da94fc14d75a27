// Command benchtable runs confed's benchmark suite (package bench) in-process
// with testing.Benchmark, prints a table of throughput with each row's ratio
// to its baseline measured in the same run, and writes the figures as JSON.
//
//	go run ./bench/cmd/benchtable                      # what make bench runs
//	go run ./bench/cmd/benchtable --short              # small sizes, one round: quick check
//	go run ./bench/cmd/benchtable --filter 'Update/' --count 3
//
// A row selected by --filter brings its baseline (and the baseline's
// baseline) along, so every ratio is against a figure from the same run.
// With --count N (default 3) the suite runs N times in rounds; each row
// reports its median run, and its ratio is the median of the per-round
// ratios to the baseline's run in the same round.
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
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
	// OtherCPU is the share of the machine's CPU time (all CPUs, including
	// hypervisor steal) used by anything but this process during the
	// benchmarks, from /proc (Linux; -1 if unknown). Other work skews the
	// ratios between rows.
	OtherCPU float64 `json:"other_cpu_share"`
	Rows     []Row   `json:"rows"`
	// Notes are facts the rows recorded about their environment (for
	// example which numpy and BLAS the Flower baseline ran), by topic.
	Notes map[string]string `json:"notes,omitempty"`
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
	// Ratio is GB/s over the baseline's GB/s (above 1: faster than the
	// baseline), the median over rounds of RunsRatio, each round's row
	// compared with the same round's baseline run. 0 for a reference row.
	Ratio        float64   `json:"ratio,omitempty"`
	RunsRatio    []float64 `json:"runs_ratio,omitempty"`
	MemGBps      float64   `json:"mem_gb_per_s,omitempty"` // memory traffic, memory-bound rows only
	AllocsOp     int64     `json:"allocs_per_op"`
	AllocBytesOp int64     `json:"alloc_bytes_per_op"`
	// Once is set for a heavy row run in the first round only.
	Once bool `json:"once,omitempty"`
	// Skipped is why the row did not run (the machine lacks a tool); its
	// figures are then zero.
	Skipped string `json:"skipped,omitempty"`
	// PeakRSS is the peak resident set size of the process that
	// aggregated, for the rows that measure it, and ModelBytes the size of
	// one model it is read against.
	PeakRSS    int64 `json:"peak_rss_bytes,omitempty"`
	ModelBytes int64 `json:"model_bytes,omitempty"`
	// PeakRatio is PeakRSS over the baseline's PeakRSS (below 1: less
	// memory than the baseline), the median over rounds like Ratio.
	PeakRatio     float64   `json:"peak_ratio,omitempty"`
	RunsPeakRatio []float64 `json:"runs_peak_ratio,omitempty"`
	// Metrics are the row's other reported metrics (median run).
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

func main() {
	// The Peak rows re-execute this binary as their child process.
	bench.MaybeRunChild()
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
	short := fs.Bool("short", false, "quick check: the small sizes (bench.ShortSizes) and, unless --count is given, one round")
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
	if *short && !isSet(fs, "count") {
		*count = 1
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
	startCPU := sampleCPU()
	// results[i][round] is nil for a row that did not run in that round
	// (skipped, or a Once row after the first round).
	results := make([][]*testing.BenchmarkResult, len(cases))
	skipped := make([]string, len(cases))
	for i := range results {
		results[i] = make([]*testing.BenchmarkResult, *count)
	}
	for round := range *count {
		for i, c := range cases {
			if skipped[i] != "" || (c.Once && round > 0) {
				continue
			}
			fmt.Fprintf(stderr, "run %d/%d  %-32s", round+1, *count, c.Name)
			r, err := bench.Run(c.Bench)
			if errors.Is(err, bench.ErrSkipped) {
				skipped[i] = strings.TrimPrefix(err.Error(), bench.ErrSkipped.Error()+": ")
				fmt.Fprintf(stderr, " skipped: %s\n", skipped[i])
				continue
			}
			if err != nil {
				fmt.Fprintln(stderr)
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			fmt.Fprintf(stderr, " %12.0f ns/op\n", nsPerOp(r))
			results[i][round] = &r
		}
	}
	rep.Rows = rows(cases, selected, results, skipped)
	rep.OtherCPU = startCPU.otherShare(sampleCPU())
	if notes := bench.Notes(); len(notes) > 0 {
		rep.Notes = notes
	}

	printTable(stdout, rep)
	if *out != "" {
		if err := writeJSON(*out, rep); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *out)
	}
	return nil
}

// isSet reports whether the flag called name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
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

// rows summarises the runs: each row is its median run by ns/op, and its
// ratio is the median over rounds of the ratio to the baseline's run in the
// same round, so that drift during the run (other load, frequency) cancels
// as far as possible. results[i][round] is nil where row i did not run;
// skipped[i] says why a row never ran.
func rows(cases []bench.Case, selected map[string]bool, results [][]*testing.BenchmarkResult, skipped []string) []Row {
	out := make([]Row, len(cases))
	index := map[string]int{}
	for i, c := range cases {
		index[c.Name] = i
		row := Row{Name: c.Name, Baseline: c.Baseline, Selected: selected[c.Name], Once: c.Once, Skipped: skipped[i]}
		var runs []testing.BenchmarkResult
		for _, r := range results[i] {
			if r != nil {
				runs = append(runs, *r)
				row.RunsNsOp = append(row.RunsNsOp, nsPerOp(*r))
			}
		}
		if len(runs) == 0 {
			out[i] = row
			continue
		}
		slices.SortFunc(runs, func(a, b testing.BenchmarkResult) int { return cmp.Compare(nsPerOp(a), nsPerOp(b)) })
		med := runs[(len(runs)-1)/2]
		row.N, row.BytesOp, row.NsOp, row.GBps = med.N, med.Bytes, nsPerOp(med), gbPerSec(med)
		row.MemGBps, row.AllocsOp, row.AllocBytesOp = med.Extra[bench.MemMetric], med.AllocsPerOp(), med.AllocedBytesPerOp()
		row.PeakRSS, row.ModelBytes = int64(med.Extra[bench.PeakRSSMetric]), int64(med.Extra[bench.ModelBytesMetric])
		for k, v := range med.Extra {
			if k != bench.MemMetric && k != bench.PeakRSSMetric && k != bench.ModelBytesMetric {
				if row.Metrics == nil {
					row.Metrics = map[string]float64{}
				}
				row.Metrics[k] = v
			}
		}
		if j, ok := index[c.Baseline]; ok {
			for round, r := range results[i] {
				base := results[j][round]
				if r == nil || base == nil {
					continue
				}
				if g := gbPerSec(*base); g > 0 {
					row.RunsRatio = append(row.RunsRatio, gbPerSec(*r)/g)
				}
				if p := base.Extra[bench.PeakRSSMetric]; p > 0 && r.Extra[bench.PeakRSSMetric] > 0 {
					row.RunsPeakRatio = append(row.RunsPeakRatio, r.Extra[bench.PeakRSSMetric]/p)
				}
			}
			row.Ratio, row.PeakRatio = median(row.RunsRatio), median(row.RunsPeakRatio)
		}
		out[i] = row
	}
	return out
}

// median returns the median of xs (the lower one of an even count), 0 for
// none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Sorted(slices.Values(xs))[(len(xs)-1)/2]
}

// gbPerSec returns r's payload throughput in GB/s (bytes per ns).
func gbPerSec(r testing.BenchmarkResult) float64 {
	if ns := nsPerOp(r); ns > 0 {
		return float64(r.Bytes) / ns
	}
	return 0
}

func printTable(w io.Writer, rep Report) {
	fmt.Fprintf(w, "confed bench  %s  %s %s/%s  cpu: %s  (%d CPUs, GOMAXPROCS %d)\n",
		rep.Date.Format(time.RFC3339), rep.GoVersion, rep.GOOS, rep.GOARCH, rep.CPU, rep.NumCPU, rep.GOMAXPROCS)
	sizes := ""
	if rep.Short {
		sizes = ", short sizes"
	}
	other := "unknown"
	if rep.OtherCPU >= 0 {
		other = fmt.Sprintf("%.0f%%", 100*rep.OtherCPU)
	}
	fmt.Fprintf(w, "benchtime %s, count %d (median)%s. CPU used by other processes during the run: %s of %d CPUs.\n",
		rep.Benchtime, rep.Count, sizes, other, rep.NumCPU)
	if rep.OtherCPU > busyShare {
		fmt.Fprintf(w, "WARNING: the machine was busy (other processes used over %.0f%% of its CPU time): figures and ratios are skewed.\n", 100*busyShare)
	}
	fmt.Fprintf(w, "GB/s: payload bytes (b.SetBytes) per ns. ratio: GB/s / the baseline's GB/s in the same round (median over rounds; above 1 = faster).\n\n")
	t := [][]string{{"name", "GB/s", "ratio", "baseline", "mem GB/s", "ns/op", "allocs/op", "B/op"}}
	for _, r := range rep.Rows {
		name := r.Name
		if !r.Selected {
			name += " (baseline)"
		}
		ratio, base, mem := "ref", "", "-"
		if r.Baseline != "" {
			ratio, base = fmt.Sprintf("%.3f", r.Ratio), r.Baseline
			if r.Ratio == 0 {
				ratio = "-" // the baseline did not run
			}
		}
		if r.MemGBps > 0 {
			mem = fmt.Sprintf("%.2f", r.MemGBps)
		}
		if r.Skipped != "" {
			t = append(t, []string{name, "-", "skipped", base, "-", "-", "-", "-"})
			continue
		}
		t = append(t, []string{name, fmt.Sprintf("%.2f", r.GBps), ratio, base, mem,
			fmt.Sprintf("%.0f", r.NsOp), fmt.Sprint(r.AllocsOp), bytesLabel(r.AllocBytesOp)})
	}
	printColumns(w, t, []bool{true, false, false, true, false, false, false, false})
	printPeaks(w, rep)
	for _, r := range rep.Rows {
		if r.Skipped != "" {
			fmt.Fprintf(w, "\nskipped %s: %s\n", r.Name, r.Skipped)
		}
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w)
		for _, k := range slices.Sorted(maps.Keys(rep.Notes)) {
			fmt.Fprintf(w, "note (%s): %s\n", k, rep.Notes[k])
		}
	}
}

// printPeaks prints the peak memory of the rows that report it: the peak
// RSS of the process that aggregated, in MiB and in models, and its ratio
// to the baseline's peak in the same round (below 1: less memory).
func printPeaks(w io.Writer, rep Report) {
	t := [][]string{{"name", "peak RSS", "model", "peak/model", "peak ratio", "baseline"}}
	for _, r := range rep.Rows {
		if r.PeakRSS <= 0 {
			continue
		}
		name := r.Name
		if !r.Selected {
			name += " (baseline)"
		}
		perModel, ratio := "-", "ref"
		if r.ModelBytes > 0 {
			perModel = fmt.Sprintf("%.2f", float64(r.PeakRSS)/float64(r.ModelBytes))
		}
		if r.Baseline != "" {
			ratio = "-"
			if r.PeakRatio > 0 {
				ratio = fmt.Sprintf("%.3f", r.PeakRatio)
			}
		}
		t = append(t, []string{name, bytesLabel(r.PeakRSS), bytesLabel(r.ModelBytes), perModel, ratio, r.Baseline})
	}
	if len(t) == 1 {
		return
	}
	fmt.Fprintf(w, "\nPeak memory: peak RSS (VmHWM) of the process that aggregated; peak ratio: this row's peak / the baseline's (below 1 = less memory).\n\n")
	printColumns(w, t, []bool{true, false, false, false, false, true})
}

// printColumns prints t aligned, left[j] saying whether column j is
// left-aligned.
func printColumns(w io.Writer, t [][]string, left []bool) {
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

func bytesLabel(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprint(n)
}

// busyShare is the share of CPU time used by other processes above which
// the table carries a warning.
const busyShare = 0.10

// cpuSample is a reading of cumulative CPU time, in clock ticks: the whole
// machine's total and busy time (/proc/stat) and this process's (/proc/self/stat).
type cpuSample struct {
	total, busy, self int64
	ok                bool
}

func sampleCPU() cpuSample {
	stat, err1 := os.ReadFile("/proc/stat")
	self, err2 := os.ReadFile("/proc/self/stat")
	if err1 != nil || err2 != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuSample{}
	}
	var s cpuSample
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return cpuSample{}
		}
		s.total += n
		if i != 3 && i != 4 {
			s.busy += n
		}
	}
	// The command name (field 2) may hold spaces; utime and stime are the
	// 12th and 13th fields after its closing parenthesis.
	_, rest, ok := strings.Cut(string(self), ") ")
	g := strings.Fields(rest)
	if !ok || len(g) < 13 {
		return cpuSample{}
	}
	for _, v := range g[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return cpuSample{}
		}
		s.self += n
	}
	s.ok = true
	return s
}

// otherShare returns the share of the machine's CPU time between s and t
// used by other processes, or -1 if unknown.
func (s cpuSample) otherShare(t cpuSample) float64 {
	if !s.ok || !t.ok || t.total <= s.total {
		return -1
	}
	other := float64((t.busy - s.busy) - (t.self - s.self))
	return max(other, 0) / float64(t.total-s.total)
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
