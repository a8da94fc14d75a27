package bench_test

import (
	"errors"
	"flag"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/confed/confed/bench"
)

// TestSuiteTiny runs every benchmark body once at TinySizes, so that a broken
// benchmark (setup error, refused update, wrong result) fails make test. It
// checks nothing about time.
func TestSuiteTiny(t *testing.T) {
	setBenchtime(t, "1x")
	cases := bench.Suite(bench.TinySizes)
	if err := bench.Check(cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			r, err := bench.Run(c.Bench)
			if errors.Is(err, bench.ErrSkipped) {
				t.Skip(err) // e.g. no python3 with numpy for Flower/numpy
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.N != 1 {
				t.Errorf("ran %d iterations, want 1", r.N)
			}
			if r.Bytes <= 0 {
				t.Errorf("bytes/op = %d: the body must call b.SetBytes", r.Bytes)
			}
		})
	}
}

// TestSuiteShapes checks the suite at every size without running it: unique
// names, baselines that come first, every group present in the _test.go
// benchmarks.
func TestSuiteShapes(t *testing.T) {
	groups := []string{"Mem", "Accumulate", "Update", "Safetensors", "Kernel"} // bench_test.go
	groups = append(groups, scaleGroups...)
	for _, s := range []bench.Sizes{bench.FullSizes, bench.ShortSizes, bench.TinySizes, {Floats: 100, Params: []int{3000}, Codec: 5000}} {
		cases := bench.Suite(s)
		if err := bench.Check(cases); err != nil {
			t.Errorf("sizes %+v: %v", s, err)
		}
		for _, c := range cases {
			if !slices.Contains(groups, c.Group()) {
				t.Errorf("case %q: group %q has no Benchmark function", c.Name, c.Group())
			}
		}
	}
}

func TestRunReportsSkip(t *testing.T) {
	setBenchtime(t, "1x")
	_, err := bench.Run(func(b *testing.B) {
		bench.Skip(b, "no tool here")
		for b.Loop() {
		}
	})
	if !errors.Is(err, bench.ErrSkipped) || !strings.Contains(err.Error(), "no tool here") {
		t.Fatalf("Run(skipping body) = %v, want ErrSkipped with the reason", err)
	}
}

func TestRunReportsFailure(t *testing.T) {
	setBenchtime(t, "1x")
	_, err := bench.Run(func(b *testing.B) {
		for b.Loop() {
			bench.Fatal(b, "broken on purpose")
		}
	})
	if err == nil || !strings.Contains(err.Error(), "broken on purpose") {
		t.Fatalf("Run(failing body) = %v, want the body's message", err)
	}
}

func TestSumFloat32(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 1001} {
		x := make([]float32, n)
		bench.Fill(x, uint64(n))
		var want float64
		for _, v := range x {
			if v < -1 || v >= 1 {
				t.Fatalf("Fill gave %v, outside [-1, 1)", v)
			}
			want += float64(v)
		}
		if got := bench.SumFloat32(x); math.Abs(float64(got)-want) > 1e-4*float64(n+1) {
			t.Errorf("n=%d: SumFloat32 = %v, want %v", n, got, want)
		}
	}
}

func TestAddNaive(t *testing.T) {
	acc := []float64{1, 2, 3}
	bench.AddNaive(acc, []float32{1, -1, 0.5, 99}, 2)
	if want := []float64{3, 0, 4}; !slices.Equal(acc, want) {
		t.Fatalf("AddNaive = %v, want %v", acc, want)
	}
}

func TestLabel(t *testing.T) {
	for n, want := range map[int]string{16 << 20: "16Mi", 10_000_000: "10M", 1_000_000: "1M", 4096: "4Ki", 2000: "2k", 100_000: "100k", 7: "7"} {
		if got := bench.Label(n); got != want {
			t.Errorf("Label(%d) = %q, want %q", n, got, want)
		}
	}
}

// setBenchtime sets the test.benchtime flag, which testing.Benchmark reads,
// for the duration of the test.
func setBenchtime(t *testing.T, v string) {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		t.Fatal("no test.benchtime flag")
	}
	old := f.Value.String()
	if err := f.Value.Set(v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Value.Set(old) })
}
