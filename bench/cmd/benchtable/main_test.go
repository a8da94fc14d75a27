package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/bench"
)

func TestPickBringsBaselines(t *testing.T) {
	cases, selected := pick(bench.Suite(bench.FullSizes), regexp.MustCompile(`Update/ingest/d=10M`))
	var names []string
	for _, c := range cases {
		names = append(names, c.Name)
	}
	want := []string{"Update/copy/d=10M", "Update/sha256/d=10M", "Update/ingest/d=10M"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("picked %v, want %v", names, want)
	}
	if !selected["Update/ingest/d=10M"] || selected["Update/sha256/d=10M"] {
		t.Fatalf("selected = %v", selected)
	}
}

// TestRun runs two rows once each, twice, at tiny cost, and checks the
// table and the JSON; it checks nothing about time.
func TestRun(t *testing.T) {
	f := flag.Lookup("test.benchtime")
	old := f.Value.String()
	t.Cleanup(func() { _ = f.Value.Set(old) })

	out := filepath.Join(t.TempDir(), "sub", "r.json")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"--short", "--filter", "^Mem/sum", "--benchtime", "1x", "--count", "2", "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"Mem/copy/n=1Mi (baseline)", "Mem/sum/n=1Mi", "ratio", "allocs/op"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Count != 2 || !rep.Short {
		t.Fatalf("report: %+v", rep)
	}
	copyRow, sumRow := rep.Rows[0], rep.Rows[1]
	if copyRow.Selected || !sumRow.Selected || sumRow.Baseline != copyRow.Name || len(sumRow.RunsNsOp) != 2 {
		t.Fatalf("rows: %+v", rep.Rows)
	}
	if sumRow.N != 1 || sumRow.BytesOp != 4<<20 || sumRow.GBps <= 0 || sumRow.Ratio <= 0 {
		t.Fatalf("sum row: %+v", sumRow)
	}
}

func TestRunRejects(t *testing.T) {
	for _, args := range [][]string{{"--filter", "("}, {"--filter", "nothing-matches"}, {"--count", "0"}, {"--benchtime", "soon"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		if err := run(args, &stdout, &stderr); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestRowsOnceSkippedPeak checks the summary of rows that ran in the first
// round only, a skipped baseline, and the peak-memory ratio.
func TestRowsOnceSkippedPeak(t *testing.T) {
	body := func(*testing.B) {}
	cases := []bench.Case{
		{Name: "P/base/1", Once: true, Bench: body},
		{Name: "P/row/1", Baseline: "P/base/1", Once: true, Bench: body},
		{Name: "S/gone/1", Once: true, Bench: body},
		{Name: "S/row/1", Baseline: "S/gone/1", Once: true, Bench: body},
	}
	res := func(ns, peak float64) *testing.BenchmarkResult {
		return &testing.BenchmarkResult{N: 1, T: time.Duration(ns), Bytes: 1000,
			Extra: map[string]float64{bench.PeakRSSMetric: peak, bench.ModelBytesMetric: 100}}
	}
	results := [][]*testing.BenchmarkResult{
		{res(1000, 400), nil, nil},
		{res(500, 100), nil, nil},
		{nil, nil, nil},
		{res(2000, 0), nil, nil},
	}
	selected := map[string]bool{"P/row/1": true, "S/row/1": true}
	got := rows(cases, selected, results, []string{"", "", "no tool", ""})
	if r := got[1]; r.Ratio != 2 || r.PeakRatio != 0.25 || len(r.RunsNsOp) != 1 || !r.Once || r.PeakRSS != 100 || r.ModelBytes != 100 {
		t.Errorf("row with a once baseline: %+v", r)
	}
	if r := got[2]; r.Skipped != "no tool" || r.N != 0 {
		t.Errorf("skipped row: %+v", r)
	}
	if r := got[3]; r.Ratio != 0 || r.GBps != 0.5 {
		t.Errorf("row whose baseline was skipped: %+v", r)
	}
	var out bytes.Buffer
	printTable(&out, Report{Rows: got, OtherCPU: -1, Notes: map[string]string{"numpy": "numpy 9"}})
	for _, want := range []string{"Peak memory", "0.250", "skipped S/gone/1: no tool", "note (numpy): numpy 9"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
