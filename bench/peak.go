package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/procstat"
)

// The Peak rows run the aggregator's ingest-and-fold path for n updates in a
// child process and read that process's peak resident set size: the memory
// of one round's aggregation, which must not grow with n. The child is this
// very binary, re-executed with ChildEnv set: benchtable's main and the
// bench tests' TestMain call MaybeRunChild first, which runs the child and
// exits. The updates come from a generator, one 1 MiB chunk at a time, as
// they arrive from the network: no update is ever held whole.

// ChildEnv is the environment variable that makes MaybeRunChild run a
// child; its value is the child's arguments ("peak n=… d=… k=…").
const ChildEnv = "CONFED_BENCH_CHILD"

// PeakStaging is the number of staging buffers (and concurrent updates) of
// the child: the aggregator's default max_concurrent_updates.
const PeakStaging = 2

// childMarker starts the child's result line on stdout. childReady is the
// line the child prints once it has set up (hashed its updates' sources,
// built the global model); it then waits for a line on stdin before it
// ingests, so that the parent can time the ingest alone.
const (
	childMarker = "confed-bench-child: "
	childReady  = "confed-bench-child-ready"
)

// peakUpdateSeeds is how many distinct updates the generator makes (update i
// is number i mod peakUpdateSeeds): their SHA-256, which an update's header
// declares before its bytes, is computed once each at start-up.
const peakUpdateSeeds = 4

// PeakResult is what the child reports.
type PeakResult struct {
	N, D, K int
	// Seconds is the child's time from start to result, generation
	// included.
	Seconds float64 `json:"seconds"`
	// IngestSeconds is the time of the ingest and fold of the n updates
	// and Apply (generation of their bytes included, hashing at start-up
	// excluded).
	IngestSeconds float64 `json:"ingest_seconds"`
	// RSSStartKiB is VmRSS when the child starts, before any model exists.
	RSSStartKiB int64 `json:"rss_start_kib"`
	// VmHWMKiB is the peak RSS of the child's address space.
	VmHWMKiB int64 `json:"vmhwm_kib"`
	// RusageMaxRSSKiB is the child's ru_maxrss as the parent's wait4 saw it.
	// On Linux it is at least the parent's own peak at the time of the
	// fork (os/exec shares the parent's address space until exec and the
	// kernel carries that space's high-water mark over exec), so VmHWM is
	// the figure used.
	RusageMaxRSSKiB int64  `json:"rusage_maxrss_kib"`
	Error           string `json:"error,omitempty"`
}

// PeakBytes is the child's peak RSS in bytes (VmHWM; ru_maxrss where there
// is no /proc).
func (r PeakResult) PeakBytes() int64 {
	if r.VmHWMKiB > 0 {
		return r.VmHWMKiB << 10
	}
	return r.RusageMaxRSSKiB << 10
}

// PeakConfed runs the child once per operation: n updates of d parameters,
// PeakStaging at a time on as many goroutines, each ingested
// (fedavg.NewIngestor, Write in ChunkSize chunks, Finish) into a staging
// buffer from a fedavg.BufferPool and folded with Accumulator.Add, then
// fedavg.Apply onto the round's global model. The timer runs from the
// child's ready line (its set-up done) to its exit, so the time covers the
// ingest and fold, the generation of the updates' bytes and the child's
// exit. Bytes per op: n encoded updates. Reports the child's peak RSS.
func PeakConfed(b *testing.B, n, d int) {
	b.SetBytes(int64(n) * model.SafetensorsSize(UpdateSpec(d)))
	var res PeakResult
	for b.Loop() {
		b.StopTimer()
		var err error
		if res, err = runPeakChild(n, d, PeakStaging, b.StartTimer); err != nil {
			Fatal(b, "%v", err)
		}
	}
	reportPeak(b, res.PeakBytes(), 4*int64(d))
	b.ReportMetric(float64(res.RSSStartKiB<<10), "startRSS-B")
}

// runPeakChild re-executes this binary as a Peak child and returns its
// result. ready, if not nil, is called when the child has set up, just
// before it is told to start ingesting.
func runPeakChild(n, d, k int, ready func()) (PeakResult, error) {
	if os.Getenv(ChildEnv) != "" {
		return PeakResult{}, fmt.Errorf("%s is set: a child does not start children", ChildEnv)
	}
	exe, err := os.Executable()
	if err != nil {
		return PeakResult{}, err
	}
	// The -test flags stop a test binary that lacks the MaybeRunChild hook
	// from running its tests; benchtable refuses them.
	cmd := exec.Command(exe, "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=peak n=%d d=%d k=%d", ChildEnv, n, d, k))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return PeakResult{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return PeakResult{}, err
	}
	if err := cmd.Start(); err != nil {
		return PeakResult{}, err
	}
	var res PeakResult
	found := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == childReady:
			if ready != nil {
				ready()
			}
			io.WriteString(stdin, "go\n")
			stdin.Close()
		case strings.HasPrefix(line, childMarker):
			found = json.Unmarshal([]byte(strings.TrimPrefix(line, childMarker)), &res) == nil
		}
	}
	stdin.Close()
	runErr := cmd.Wait()
	switch {
	case found && res.Error != "":
		return res, fmt.Errorf("child: %s", res.Error)
	case !found:
		return res, fmt.Errorf("the child (%s) gave no result (does its main call bench.MaybeRunChild?): %v; stderr: %s",
			exe, runErr, strings.TrimSpace(tail(stderr.String(), 600)))
	case runErr != nil:
		return res, fmt.Errorf("child: %v", runErr)
	}
	res.RusageMaxRSSKiB = childMaxRSSKiB(cmd.ProcessState)
	return res, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// MaybeRunChild runs the child that ChildEnv describes, prints its result
// and exits, if ChildEnv is set; otherwise it returns at once. Call it
// first in main (and in TestMain) of every binary that runs the suite.
func MaybeRunChild() {
	spec := os.Getenv(ChildEnv)
	if spec == "" {
		return
	}
	if js, ok := strings.CutPrefix(spec, aggChildPrefix); ok {
		if err := runAggChild(js); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	res, err := runChild(spec)
	code := 0
	if err != nil {
		res.Error, code = err.Error(), 1
	}
	line, _ := json.Marshal(res)
	fmt.Printf("%s%s\n", childMarker, line)
	os.Exit(code)
}

func runChild(spec string) (PeakResult, error) {
	var res PeakResult
	if _, err := fmt.Sscanf(spec, "peak n=%d d=%d k=%d", &res.N, &res.D, &res.K); err != nil {
		return res, fmt.Errorf("%s=%q: %v", ChildEnv, spec, err)
	}
	if res.N < 1 || res.D < 1 || res.K < 1 {
		return res, fmt.Errorf("%s=%q: want positive n, d and k", ChildEnv, spec)
	}
	start := time.Now()
	res.RSSStartKiB = procstat.KiB(procstat.Self, "VmRSS")
	ingest, err := peakChild(res.N, res.D, res.K)
	res.IngestSeconds = ingest.Seconds()
	res.Seconds = time.Since(start).Seconds()
	res.VmHWMKiB = procstat.KiB(procstat.Self, "VmHWM")
	return res, err
}

// peakChild ingests and folds n generated updates of d parameters with k
// staging buffers, then applies the mean to a global model, and returns the
// time that took.
func peakChild(n, d, k int) (time.Duration, error) {
	spec := UpdateSpec(d)
	hdr, err := safetensorsPrefix(spec)
	if err != nil {
		return 0, err
	}
	size := model.SafetensorsSize(spec)
	seeds := min(n, peakUpdateSeeds)
	sums := make([][32]byte, seeds)
	for s := range seeds {
		h := sha256.New()
		if _, err := io.Copy(h, newUpdateReader(hdr, d, uint64(100+s))); err != nil {
			return 0, err
		}
		h.Sum(sums[s][:0])
	}
	// The aggregator holds the round's global model (downloaded and
	// decoded) during the whole round.
	global, err := UpdateModel(d, 1)
	if err != nil {
		return 0, err
	}
	pool, err := fedavg.NewBufferPool(spec, k)
	if err != nil {
		return 0, err
	}
	acc := fedavg.NewAccumulator(spec)
	limits := fedavg.Limits{MaxBytes: size, MaxNorm: 1e6}
	fmt.Println(childReady)
	bufio.NewReader(os.Stdin).ReadString('\n') // "go", or end of input
	start := time.Now()
	jobs := make(chan int)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for w := range k {
		wg.Go(func() {
			chunk := make([]byte, ChunkSize)
			for i := range jobs {
				if errs[w] == nil {
					errs[w] = ingestGenerated(pool, acc, spec, hdr, size, sums, limits, chunk, i)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	out, err := fedavg.Apply(global, acc)
	if err != nil {
		return 0, err
	}
	if acc.Count() != n || out.NumParams() != d {
		return 0, fmt.Errorf("folded %d updates into %d parameters, want %d and %d", acc.Count(), out.NumParams(), n, d)
	}
	return time.Since(start), nil
}

// ingestGenerated ingests update i, read from the generator in ChunkSize
// chunks, into a staging buffer from pool, and folds it into acc.
func ingestGenerated(pool *fedavg.BufferPool, acc *fedavg.Accumulator, spec model.Spec, hdr []byte, size int64,
	sums [][32]byte, limits fedavg.Limits, chunk []byte, i int) error {
	buf, err := pool.Get(context.Background())
	if err != nil {
		return err
	}
	defer pool.Put(buf)
	s := i % len(sums)
	in, err := fedavg.NewIngestor(spec, buf, size, sums[s][:], limits)
	if err != nil {
		return err
	}
	r := newUpdateReader(hdr, len(buf), uint64(100+s))
	for {
		m, err := io.ReadFull(r, chunk)
		if m > 0 {
			if err := in.Write(chunk[:m]); err != nil {
				return fmt.Errorf("update %d: %w", i, err)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	staged, err := in.Finish()
	if err != nil {
		return fmt.Errorf("update %d: %w", i, err)
	}
	return acc.Add(staged.Values, float64(100+i))
}

// safetensorsPrefix returns the first bytes of the canonical encoding of any
// model of spec: the 8-byte length and the JSON header. It asks
// model.WriteRawSafetensors for them and stops it before the data, which
// it is given (never read, never touched) only because it checks the length.
func safetensorsPrefix(spec model.Spec) ([]byte, error) { return rawPrefix(spec, model.F32) }

// rawPrefix is safetensorsPrefix for tensors of dtype.
func rawPrefix(spec model.Spec, dtype model.Dtype) ([]byte, error) {
	w := &firstWrite{}
	data := int64(dtype.Size()) * int64(spec.NumParams())
	_, err := model.WriteRawSafetensors(w, spec, dtype, make([]byte, data))
	if !errors.Is(err, errFirstWrite) {
		return nil, fmt.Errorf("safetensors header: %v", err)
	}
	if want := model.SafetensorsSizeOf(spec, dtype) - data; int64(len(w.b)) != want {
		return nil, fmt.Errorf("safetensors header of %d bytes, want %d", len(w.b), want)
	}
	return w.b, nil
}

var errFirstWrite = errors.New("first write captured")

type firstWrite struct{ b []byte }

func (w *firstWrite) Write(p []byte) (int, error) {
	w.b = bytes.Clone(p)
	return 0, errFirstWrite
}

// updateReader generates the canonical safetensors encoding of an update of
// d float32 values (|v| < 0.01, xorshift64* from seed) without holding it:
// the header, then the values, encoded 16Ki at a time. A ring reader
// generates fixed-point values instead: uint32 two's complement of
// integers in [-512, 512).
type updateReader struct {
	pend []byte // bytes produced and not yet read
	hdr  []byte
	left int // values not yet produced
	s    uint64
	vals []byte
	ring bool
}

func newUpdateReader(hdr []byte, d int, seed uint64) *updateReader {
	return newGenReader(hdr, d, seed, false)
}

func newGenReader(hdr []byte, d int, seed uint64, ring bool) *updateReader {
	return &updateReader{hdr: hdr, left: d, s: seed*0x9e3779b97f4a7c15 | 1, vals: make([]byte, 4*(16<<10)), ring: ring}
}

func (g *updateReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.pend) == 0 {
			switch {
			case g.hdr != nil:
				g.pend, g.hdr = g.hdr, nil
			case g.left > 0:
				k := min(g.left, len(g.vals)/4)
				s := g.s
				for j := range k {
					s ^= s >> 12
					s ^= s << 25
					s ^= s >> 27
					r := s * 0x2545f4914f6cdd1d
					word := math.Float32bits(float32(int32(r>>32)) * (0.01 / (1 << 31)))
					if g.ring {
						word = uint32(int32(r>>54) - 512)
					}
					binary.LittleEndian.PutUint32(g.vals[4*j:], word)
				}
				g.s, g.left, g.pend = s, g.left-k, g.vals[:4*k]
			default:
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
		}
		c := copy(p[n:], g.pend)
		g.pend, n = g.pend[c:], n+c
	}
	return n, nil
}
