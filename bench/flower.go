package bench

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/aggregator/strategy"
	"github.com/confed/confed/internal/model"
)

// The Flower rows compare confed's streaming FedAvg with the aggregation of
// Flower's FedAvg strategy (flwr/server/strategy/aggregate.py, `aggregate`),
// reproduced with numpy in flower/aggregate.py and run by python3. Flower
// collects every client's result, multiplies each layer by the client's
// example count (a new array per client and layer) and sums the products
// with reduce(np.add, …): all N updates are in memory at once, twice. confed
// validates each update as it streams in, folds it into one float64 sum and
// drops it.

//go:embed flower/aggregate.py
var flowerScript []byte

// PythonEnv names the python3 to run the Flower baseline with; by default
// the first of python3 on PATH and /usr/bin/python3 that imports numpy.
const PythonEnv = "CONFED_BENCH_PYTHON"

// numpyEnvUnset are removed from the numpy process's environment (and only
// from it): on some processors this machine sets them for old OpenBLAS
// builds, and they slow a current numpy down.
var numpyEnvUnset = []string{"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}

var numpyPython = sync.OnceValues(findNumpyPython)

// findNumpyPython returns the first python3 that imports numpy, or an error
// listing what was tried.
func findNumpyPython() (string, error) {
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv(PythonEnv); p != "" {
		cands = []string{p}
	}
	var tried []string
	seen := map[string]bool{}
	for _, c := range cands {
		path, err := exec.LookPath(c)
		if err != nil {
			tried = append(tried, c+": not found")
			continue
		}
		if seen[path] {
			continue
		}
		seen[path] = true
		cmd := exec.Command(path, "-c", "import numpy")
		cmd.Env = numpyEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %s", path, lastLine(out, err)))
			continue
		}
		return path, nil
	}
	return "", errors.New(strings.Join(tried, "; "))
}

// numpyEnv is this process's environment without numpyEnvUnset.
func numpyEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(numpyEnvUnset, k)
	})
}

func lastLine(out []byte, err error) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return err.Error()
}

// flowerHead is the "ready" line of aggregate.py --serve.
type flowerHead struct {
	Ready        bool    `json:"ready"`
	N            int     `json:"n"`
	D            int     `json:"d"`
	BuildSeconds float64 `json:"build_seconds"`
	RSSStartKiB  int64   `json:"rss_start_kib"`
	RSSBuiltKiB  int64   `json:"rss_built_kib"`
	Numpy        string  `json:"numpy"`
	Python       string  `json:"python"`
	BLAS         struct {
		Mapped        []string          `json:"mapped_libraries"`
		Build         json.RawMessage   `json:"build"`
		Threadpoolctl json.RawMessage   `json:"threadpoolctl"`
		SIMDBaseline  []string          `json:"simd_baseline"`
		SIMDDispatch  []string          `json:"simd_dispatch_available"`
		Env           map[string]string `json:"env"`
	} `json:"blas"`
}

// flowerReply is the answer to one command.
type flowerReply struct {
	Seconds     float64 `json:"seconds"`
	RuMaxRSSKiB int64   `json:"ru_maxrss_kib"`
	VmHWMKiB    int64   `json:"vmhwm_kib"`
	Error       string  `json:"error"`
}

// flowerProc is a running aggregate.py --serve.
type flowerProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
	script string
}

func startFlower(python string, n, d int) (*flowerProc, *flowerHead, error) {
	f, err := os.CreateTemp("", "confed-flower-*.py")
	if err != nil {
		return nil, nil, err
	}
	p := &flowerProc{script: f.Name()}
	if _, err := f.Write(flowerScript); err != nil {
		f.Close()
		p.close()
		return nil, nil, err
	}
	if err := f.Close(); err != nil {
		p.close()
		return nil, nil, err
	}
	p.cmd = exec.Command(python, p.script, "--serve", "--n", strconv.Itoa(n), "--d", strconv.Itoa(d))
	p.cmd.Env = numpyEnv()
	p.cmd.Stderr = &p.stderr
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		p.close()
		return nil, nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		p.close()
		return nil, nil, err
	}
	p.out = bufio.NewReader(stdout)
	if err := p.cmd.Start(); err != nil {
		p.close()
		return nil, nil, err
	}
	var head flowerHead
	if err := p.readLine(&head); err != nil || !head.Ready {
		p.close()
		return nil, nil, fmt.Errorf("starting %s: %v", filepath.Base(p.script), errors.Join(err, p.stderrErr()))
	}
	return p, &head, nil
}

// call sends one command and decodes the reply.
func (p *flowerProc) call(cmd string) (flowerReply, error) {
	var r flowerReply
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		return r, errors.Join(err, p.stderrErr())
	}
	if err := p.readLine(&r); err != nil {
		return r, err
	}
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	return r, nil
}

func (p *flowerProc) readLine(v any) error {
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return errors.Join(fmt.Errorf("reading from python: %w", err), p.stderrErr())
	}
	return json.Unmarshal(line, v)
}

func (p *flowerProc) stderrErr() error {
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		return fmt.Errorf("python stderr: %s", s)
	}
	return nil
}

// close ends the process (end of input makes it exit) and removes the script.
func (p *flowerProc) close() {
	if p.in != nil {
		p.in.Close()
	}
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Wait()
	}
	os.Remove(p.script)
}

// summary is the note recorded for the numpy that ran.
func (h *flowerHead) summary(python string) string {
	blas := strings.Join(h.BLAS.Mapped, ", ")
	if blas == "" {
		blas = "none mapped"
	}
	tp := strings.TrimSpace(string(h.BLAS.Threadpoolctl))
	if tp == "" || tp == "[]" {
		tp = "threadpoolctl sees no BLAS thread pool"
	} else {
		tp = "threadpoolctl: " + tp
	}
	unset := "unset for numpy: " + strings.Join(numpyEnvUnset, ", ")
	return fmt.Sprintf("%s: python %s, numpy %s; BLAS libraries mapped: %s (built with %s; %s); SIMD baseline %s, dispatch available %s; %s. The aggregation is elementwise (multiply, add, divide): numpy's own SIMD loops, no BLAS call.",
		python, h.Python, h.Numpy, blas, compactJSON(h.BLAS.Build), tp,
		strings.Join(h.BLAS.SIMDBaseline, ","), strings.Join(h.BLAS.SIMDDispatch, ","), unset)
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// FlowerNumpy measures Flower's aggregate() (flower/aggregate.py, python3
// and numpy) on n float32 updates of d parameters, built in memory first
// (not timed). One operation is one "run" round trip to the python
// process, timed here, after one untimed aggregation (the first one in a
// process faults in its memory); python's own timing is reported as
// py-ns/op. Bytes
// per op: 4·n·d. Peak RSS: VmHWM of the python process. It is the
// reference of the Flower rows. Skipped, not failed, when no python3 with
// numpy is found.
func FlowerNumpy(b *testing.B, n, d int) {
	python, err := numpyPython()
	if err != nil {
		Skip(b, "no python3 with numpy (%v): install Debian's python3-numpy (apt-get install -y python3-numpy) or set %s", err, PythonEnv)
	}
	p, head, err := startFlower(python, n, d)
	if err != nil {
		Fatal(b, "%v", err)
	}
	defer p.close()
	SetNote("numpy", head.summary(python))
	// One untimed aggregation first: the first one in a process faults in
	// fresh memory for every array (several times slower at d=10M); a
	// Flower server pays that once, not every round.
	if _, err := p.call("run"); err != nil {
		Fatal(b, "aggregate: %v", err)
	}
	b.SetBytes(4 * int64(n) * int64(d))
	var pySeconds float64
	for b.Loop() {
		r, err := p.call("run")
		if err != nil {
			Fatal(b, "aggregate: %v", err)
		}
		pySeconds += r.Seconds
	}
	st, err := p.call("stats")
	if err != nil {
		Fatal(b, "stats: %v", err)
	}
	peak := st.VmHWMKiB
	if peak <= 0 { // no /proc: ru_maxrss, which may include the parent's
		peak = st.RuMaxRSSKiB
	}
	reportPeak(b, peak<<10, 4*int64(d))
	b.ReportMetric(pySeconds/float64(b.N)*1e9, "py-ns/op")
}

// flowerRing is how many distinct encoded updates FlowerConfed cycles
// through: enough to exceed this machine class's 32 MiB L3, as Flower's n
// distinct arrays do, without holding n large updates.
func flowerRing(n, d int) int {
	return min(n, max(2, (64<<20)/(4*d)+1))
}

// FlowerConfed measures confed's path for the same n updates of d
// parameters as FlowerNumpy: a new fedavg.Accumulator, then for each update
// fedavg.NewIngestor, Write in ChunkSize chunks and Finish from canonical
// safetensors bytes in memory (hash, header and shape checks, finite check,
// norm, decoding into one staging buffer) and Accumulator.Add with weight
// 100+i, then fedavg.Apply onto a global model. One goroutine, one update
// after another. One untimed round first, as for FlowerNumpy. Bytes per
// op: 4·n·d, as for FlowerNumpy.
//
// Peak RSS is measured separately, after the timed loop, in a child process
// (runPeakChild) that ingests and folds the same n updates as they would
// arrive, from a generator, with the default two staging buffers
// (max_concurrent_updates: 2): that is the aggregator's memory. Baseline:
// FlowerNumpy.
func FlowerConfed(b *testing.B, n, d int) {
	spec := UpdateSpec(d)
	global, err := UpdateModel(d, 1)
	if err != nil {
		Fatal(b, "global model: %v", err)
	}
	ring := flowerRing(n, d)
	encs := make([][]byte, ring)
	sums := make([][32]byte, ring)
	for r := range ring {
		encs[r] = EncodedUpdate(b, d, uint64(10+r))
		sums[r] = sha256.Sum256(encs[r])
	}
	size := int64(len(encs[0]))
	buf := make([]float32, d)
	Fill(buf, 6) // a pooled staging buffer has its pages already
	limits := fedavg.Limits{MaxBytes: size, MaxNorm: 1e6}
	round := func() *model.Model {
		acc := fedavg.NewAccumulator(spec)
		for i := range n {
			enc := encs[i%ring]
			in, err := fedavg.NewIngestor(spec, buf, size, sums[i%ring][:], limits)
			if err != nil {
				Fatal(b, "NewIngestor: %v", err)
			}
			for off := 0; off < len(enc); off += ChunkSize {
				if err := in.Write(enc[off:min(off+ChunkSize, len(enc))]); err != nil {
					Fatal(b, "Write: %v", err)
				}
			}
			staged, err := in.Finish()
			if err != nil {
				Fatal(b, "Finish: %v", err)
			}
			if err := acc.Add(staged.Values, float64(100+i)); err != nil {
				Fatal(b, "Add: %v", err)
			}
		}
		out, err := fedavg.Apply(global, acc)
		if err != nil {
			Fatal(b, "Apply: %v", err)
		}
		return out
	}
	round() // untimed, like FlowerNumpy's first aggregation
	b.SetBytes(4 * int64(n) * int64(d))
	b.ReportAllocs()
	var out *model.Model
	for b.Loop() {
		out = round()
	}
	if out == nil || out.NumParams() != d {
		Fatal(b, "Apply returned %v", out)
	}
	res, err := runPeakChild(n, d, PeakStaging, nil)
	if err != nil {
		Fatal(b, "peak memory child: %v", err)
	}
	reportPeak(b, res.PeakBytes(), 4*int64(d))
}

// FlowerFold is the like-for-like counterpart of FlowerNumpy: n decoded
// float32 updates already in memory (as numpy holds its arrays), combined
// the way the aggregator's close path combines them: folded in one batch
// into a float64 sum outside the Go heap (fedavg.NewMappedAccumulator,
// AddMany, weight 100+i: each block of the sum stays in cache while every
// update is added to it, as for the updates the aggregator stages at once),
// the mean taken in place (TakeMean), and the FedAvg step applied to a
// copy of the global model (strategy's StepInPlace, which checks every
// result before it writes any). No hashing, decoding or validation beyond
// Add's finite check. Bytes per op: 4·n·d. Baseline: FlowerNumpy.
func FlowerFold(b *testing.B, n, d int) {
	global, err := UpdateModel(d, 1)
	if err != nil {
		Fatal(b, "global model: %v", err)
	}
	ring := flowerRing(n, d)
	updates := make([][]float32, ring)
	for r := range ring {
		updates[r] = make([]float32, d)
		Fill(updates[r], uint64(10+r))
	}
	values := make([][]float32, n)
	weights := make([]float64, n)
	for i := range n {
		values[i], weights[i] = updates[i%ring], float64(100+i)
	}
	opt, err := strategy.NewOptimizer(strategy.Config{Name: strategy.FedAvg}, d)
	if err != nil {
		Fatal(b, "optimizer: %v", err)
	}
	next := make([]float32, d)
	round := func() {
		acc, err := fedavg.NewMappedAccumulator(global.Spec())
		if err != nil {
			Fatal(b, "accumulator: %v", err)
		}
		defer acc.Free()
		if err := acc.AddMany(values, weights); err != nil {
			Fatal(b, "AddMany: %v", err)
		}
		mean, err := acc.TakeMean()
		if err != nil {
			Fatal(b, "TakeMean: %v", err)
		}
		copy(next, global.Flat())
		if err := opt.StepInPlace(next, strategy.SliceDelta(mean)); err != nil {
			Fatal(b, "step: %v", err)
		}
	}
	round()
	want, err := flowerFoldReference(global, values, weights)
	if err != nil {
		Fatal(b, "%v", err)
	}
	if !slices.Equal(next, want) {
		Fatal(b, "the fold differs from fedavg.Apply's model")
	}
	b.SetBytes(4 * int64(n) * int64(d))
	b.ReportAllocs()
	for b.Loop() {
		round()
	}
}

// flowerFoldReference is the same round through the reference path
// (heap accumulator, Adds one by one, fedavg.Apply).
func flowerFoldReference(global *model.Model, values [][]float32, weights []float64) ([]float32, error) {
	acc := fedavg.NewAccumulator(global.Spec())
	for i, v := range values {
		if err := acc.Add(v, weights[i]); err != nil {
			return nil, err
		}
	}
	out, err := fedavg.Apply(global, acc)
	if err != nil {
		return nil, err
	}
	return out.Flat(), nil
}
