package metrics

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestWriteTextExact pins the exposition of each type, the ordering of
// families and series, and the escaping of help texts and label values.
func TestWriteTextExact(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("b_requests_total", "Requests by code.\nSecond line with a \\ backslash.", "code", "path")
	c.With("500", `a"b`).Add(2)
	c.With("200", "x\\y\nz").Inc()
	c.With("200", "/a").Add(3)
	g := r.Gauge("a_temperature_celsius", "A gauge.")
	g.With().Set(-1.5)
	h := r.Histogram("c_duration_seconds", "A histogram.", []float64{0.5, 1, 2.5}, "op")
	h.With("read").Observe(0.5) // on a bound: counts in that bucket
	h.With("read").Observe(0.7)
	h.With("read").Observe(100)
	h.With("read").Observe(math.NaN()) // ignored
	r.Counter("d_unused_total", "Never incremented, labelled.", "kind")

	want := `# HELP a_temperature_celsius A gauge.
# TYPE a_temperature_celsius gauge
a_temperature_celsius -1.5
# HELP b_requests_total Requests by code.\nSecond line with a \\ backslash.
# TYPE b_requests_total counter
b_requests_total{code="200",path="/a"} 3
b_requests_total{code="200",path="x\\y\nz"} 1
b_requests_total{code="500",path="a\"b"} 2
# HELP c_duration_seconds A histogram.
# TYPE c_duration_seconds histogram
c_duration_seconds_bucket{op="read",le="0.5"} 1
c_duration_seconds_bucket{op="read",le="1"} 2
c_duration_seconds_bucket{op="read",le="2.5"} 2
c_duration_seconds_bucket{op="read",le="+Inf"} 3
c_duration_seconds_sum{op="read"} 101.2
c_duration_seconds_count{op="read"} 3
# HELP d_unused_total Never incremented, labelled.
# TYPE d_unused_total counter
`
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Fatalf("exposition:\n%s\nwant:\n%s", b.String(), want)
	}
	exp, err := Parse(b.Bytes())
	if err != nil {
		t.Fatalf("own output does not parse: %v", err)
	}
	if v, ok := exp.Value("b_requests_total", "path", "x\\y\nz", "code", "200"); !ok || v != 1 {
		t.Errorf("escaped label value read back as %v, %v", v, ok)
	}
	if f := exp.Family("b_requests_total"); f == nil || f.Help != "Requests by code.\nSecond line with a \\ backslash." {
		t.Errorf("help read back as %+v", f)
	}
}

func TestFormatFloat(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 1: "1", 0.005: "0.005", 1e21: "1e+21", math.Inf(1): "+Inf", math.Inf(-1): "-Inf", -2.5: "-2.5",
	} {
		if got := FormatFloat(v); got != want {
			t.Errorf("FormatFloat(%v) = %q, want %q", v, got, want)
		}
	}
	if FormatFloat(math.NaN()) != "NaN" {
		t.Error("NaN")
	}
}

func TestEscapeInvalidUTF8(t *testing.T) {
	if got := EscapeLabelValue("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("got %q", got)
	}
}

// TestHistogramBuckets checks bucket placement at, below and above bounds.
func TestHistogramBuckets(t *testing.T) {
	r := NewRegistry()
	h := r.Histogram("h", "h", []float64{1, 2, 3}).With()
	for _, v := range []float64{-5, 0, 1, 1.0000001, 2, 3, 3.5, math.Inf(1)} {
		h.Observe(v)
	}
	s := h.Snapshot()
	want := []uint64{3, 5, 6, 8}
	for i := range want {
		if s.Cumulative[i] != want[i] {
			t.Fatalf("cumulative %v, want %v", s.Cumulative, want)
		}
	}
	if s.Count != 8 || !math.IsInf(s.Sum, 1) {
		t.Errorf("count %d sum %v", s.Count, s.Sum)
	}
}

func TestRegistrationMistakesPanic(t *testing.T) {
	cases := map[string]func(r *Registry){
		"bad name":          func(r *Registry) { r.Counter("1abc", "x") },
		"bad label":         func(r *Registry) { r.Counter("a", "x", "a-b") },
		"reserved label":    func(r *Registry) { r.Counter("a", "x", "__name") },
		"repeated label":    func(r *Registry) { r.Counter("a", "x", "l", "l") },
		"le on histogram":   func(r *Registry) { r.Histogram("a", "x", []float64{1}, "le") },
		"no buckets":        func(r *Registry) { r.Histogram("a", "x", nil) },
		"unsorted buckets":  func(r *Registry) { r.Histogram("a", "x", []float64{2, 1}) },
		"infinite bucket":   func(r *Registry) { r.Histogram("a", "x", []float64{1, math.Inf(1)}) },
		"twice":             func(r *Registry) { r.Counter("a", "x"); r.Gauge("a", "y") },
		"wrong label count": func(r *Registry) { r.Counter("a", "x", "l").With("1", "2") },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(NewRegistry())
		})
	}
}

// TestConcurrentUpdatesAndScrapes updates every kind from many goroutines
// while scraping (run with -race), then checks the totals.
func TestConcurrentUpdatesAndScrapes(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("c_total", "c", "worker")
	g := r.Gauge("g", "g")
	h := r.Histogram("h_seconds", "h", SecondsShort, "worker")
	const workers, n = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			label := string(rune('a' + w%2))
			for i := range n {
				c.With(label).Inc()
				g.With().Add(1)
				h.With(label).Observe(float64(i) / n)
			}
		}()
	}
	stop := make(chan struct{})
	scraped := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				scraped <- nil
				return
			default:
			}
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				scraped <- err
				return
			}
			if _, err := Parse(b.Bytes()); err != nil {
				scraped <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	if err := <-scraped; err != nil {
		t.Fatalf("scrape during updates: %v", err)
	}
	var b bytes.Buffer
	_ = r.WriteText(&b)
	exp, err := Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := exp.Sum("c_total"); got != workers*n {
		t.Errorf("counter total %v, want %d", got, workers*n)
	}
	if v, _ := exp.Value("g"); v != workers*n {
		t.Errorf("gauge %v, want %d", v, workers*n)
	}
	if got := exp.Sum("h_seconds_count"); got != workers*n {
		t.Errorf("histogram count %v, want %d", got, workers*n)
	}
}

// TestServer scrapes a real listener and checks the methods it answers.
func TestServer(t *testing.T) {
	r := NewRegistry()
	r.Counter("served_total", "x").With().Add(7)
	s, err := Start("127.0.0.1:0", r, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr().String()
	resp, err := http.Get(base + Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	exp, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := exp.Value("served_total"); !ok || v != 7 {
		t.Errorf("served_total = %v, %v", v, ok)
	}
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{http.MethodPost, Path, http.StatusMethodNotAllowed},
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodHead, Path, http.StatusOK},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.code)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + Path); err == nil {
		t.Error("server still answers after Close")
	}
}
