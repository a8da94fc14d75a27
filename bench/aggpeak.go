package bench

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/procstat"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
)

// The Aggregator rows measure the real aggregator: aggregator.Run in a child
// process (this binary re-executed), with a real coordinator and n
// participants in this process submitting over the attested, sealed
// transport on loopback. Each participant's update is generated while it
// is sent, so no process holds n updates. The federation runs two rounds:
// round 1 collects the feature statistics (float32 updates, whatever the
// mode), round 2 trains (float32 updates folded into a float64 sum, or
// fixed-point updates summed in the 32-bit ring). The row's peak is the
// aggregator's VmHWM during round 2, reset (clear_refs) after round 1; the
// statistics round's peak is reported too.

// aggChildPrefix starts the ChildEnv value of an aggregator child; the rest
// is the JSON of its aggregator.Config.
const aggChildPrefix = "aggregator "

// aggAddrLine starts the line on which the aggregator child prints its
// listening address.
const aggAddrLine = "confed-bench-aggregator-listening "

// AggPeakResult is one measurement of the aggregator's memory.
type AggPeakResult struct {
	N, Params, K int
	Ring         bool
	ModelBytes   int64
	// StatsPeakKiB is the aggregator's VmHWM over its start and round 1;
	// TrainPeakKiB its VmHWM over round 2 alone.
	StatsPeakKiB, TrainPeakKiB int64
	// TrainSeconds is round 2 from the first submission to publication.
	TrainSeconds float64
}

// PeakAggregator is the body of an Aggregator row: one operation is round 2
// of a federation of n participants with d ≈ 3F+1 parameters, the
// aggregator having k staging buffers (0: max_concurrent_updates auto).
func PeakAggregator(b *testing.B, n, d, k int, ring bool, window yamlcfg.ByteSize) {
	spec, err := aggPeakSpec((d - 1) / 3)
	if err != nil {
		Fatal(b, "%v", err)
	}
	dtype := model.F32
	if ring {
		dtype = model.U32
	}
	b.SetBytes(int64(n) * model.SafetensorsSizeOf(spec, dtype))
	var res AggPeakResult
	for b.Loop() {
		b.StopTimer()
		var err error
		if res, err = RunAggPeak(n, (d-1)/3, k, ring, window, b.StartTimer); err != nil {
			Fatal(b, "%v", err)
		}
	}
	reportPeak(b, res.TrainPeakKiB<<10, res.ModelBytes)
	b.ReportMetric(float64(res.StatsPeakKiB<<10), "statsPeak-B")
}

// aggPeakFixedPoint is the fixed-point section of ring runs: 100
// participants × weight 100 × clip 1 × scale 2^12 stay below 2^31.
const aggPeakFixedPoint = `aggregation:
  fixed_point:
    enabled: true
    bits: 32
    clip: 1
    scale: 4096
    max_weight: 100
`

// RunAggPeak runs the federation described above with k staging buffers
// in the aggregator and its stream_window set to window (0: dynamic).
// started, if not nil, is called when round 2's submissions start.
func RunAggPeak(n, features, k int, ring bool, window yamlcfg.ByteSize, started func()) (res AggPeakResult, err error) {
	res = AggPeakResult{N: n, K: k, Ring: ring}
	fed, child, err := startAggPeakFederation(n, features, k, ring, window)
	if err != nil {
		return res, err
	}
	defer func() {
		fed.stop()
		if werr := child.stop(); err == nil && werr != nil {
			err = werr
		}
	}()
	spec, err := aggPeakSpec(features)
	if err != nil {
		return res, err
	}
	res.Params, res.ModelBytes = spec.NumParams(), model.SafetensorsSize(spec)
	// Round 1: feature statistics, float32 updates.
	ts, err := fed.nextTasks(n)
	if err != nil {
		return res, err
	}
	if err := fed.submitRound(ts, spec, false); err != nil {
		return res, fmt.Errorf("round 1: %w", err)
	}
	// Round 2's tasks mean round 1 was published.
	if ts, err = fed.nextTasks(n); err != nil {
		return res, fmt.Errorf("waiting for round 1 to publish: %w", err)
	}
	res.StatsPeakKiB = procstat.KiB(child.pid(), "VmHWM")
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", child.pid()), []byte("5"), 0); err != nil {
		return res, fmt.Errorf("resetting the aggregator's peak RSS: %w", err)
	}
	if started != nil {
		started()
	}
	start := time.Now()
	if err := fed.submitRound(ts, spec, ring); err != nil {
		return res, fmt.Errorf("round 2: %w", err)
	}
	// Round 3's tasks mean round 2 was published.
	if _, err := fed.nextTasks(n); err != nil {
		return res, fmt.Errorf("waiting for round 2 to publish: %w", err)
	}
	res.TrainSeconds = time.Since(start).Seconds()
	res.TrainPeakKiB = procstat.KiB(child.pid(), "VmHWM")
	return res, nil
}

// aggPeakSpec is the spec of the F-feature logistic regression.
func aggPeakSpec(features int) (model.Spec, error) {
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: features, Init: model.InitZeros})
	if err != nil {
		return nil, err
	}
	return m.Spec(), nil
}

// aggChild is the aggregator child process.
type aggChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *logTail
}

func (c *aggChild) pid() int { return c.cmd.Process.Pid }

// stop closes the child's stdin (which ends its aggregator) and waits.
func (c *aggChild) stop() error {
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("aggregator child: %v%s", err, c.stderr.String())
		}
		return nil
	case <-time.After(time.Minute):
		c.cmd.Process.Kill()
		return errors.New("aggregator child did not stop within a minute")
	}
}

// startAggChild starts the aggregator child with cfg (Listen is ignored:
// the child listens on a free loopback port, which it returns).
func startAggChild(cfg aggregator.Config) (*aggChild, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(exe, "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), ChildEnv+"="+aggChildPrefix+string(js))
	c := &aggChild{cmd: cmd, stderr: &logTail{}}
	cmd.Stderr = c.stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), aggAddrLine); ok {
			go io.Copy(io.Discard, stdout)
			return c, addr, nil
		}
	}
	c.stop()
	return nil, "", fmt.Errorf("the aggregator child printed no address%s", c.stderr.String())
}

// runAggChild is the child: it runs the aggregator until stdin closes.
func runAggChild(js string) error {
	var cfg aggregator.Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		return fmt.Errorf("aggregator child config: %w", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg.Listen = lis.Addr().String()
	fmt.Println(aggAddrLine + cfg.Listen)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err = aggregator.Run(ctx, cfg, aggregator.Options{InsecureSimulatedTEE: true, Listener: lis, Logger: log})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// startAggPeakFederation starts the coordinator and the participants'
// watchers in this process and the aggregator in a child.
func startAggPeakFederation(n, features, k int, ring bool, window yamlcfg.ByteSize) (fed *streamFed, child *aggChild, err error) {
	fixed := ""
	if ring {
		fixed = aggPeakFixedPoint
	}
	fed, ctx, names, roundConfig, err := newBenchFed(n, 3, features, fixed)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			fed.stop()
			if child != nil {
				child.stop()
			}
			err = fmt.Errorf("%w%s", err, fed.logs.String())
		}
	}()
	aggFiles, err := fed.pki.issue(pki.RoleAggregator, "aggregator", "127.0.0.1")
	if err != nil {
		return fed, nil, err
	}
	coordLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fed, nil, err
	}
	acfg := aggregator.Default()
	acfg.Attestation = provider.Policy{TEE: "simulated"}
	acfg.Coordinator = coordLis.Addr().String()
	acfg.TLS = yamlcfg.TLSFiles(aggFiles)
	if k > 0 {
		acfg.MaxConcurrentUpdates = yamlcfg.FixedInt(k)
	}
	acfg.StreamWindow = window
	// Every participant connects at once: the aggregator serves them all
	// (the worst case for its memory), rather than making some wait.
	acfg.MaxConnections = max(n, acfg.MaxConnections)
	acfg.SpillDir = fed.pki.dir
	child, aggAddr, err := startAggChild(acfg)
	if err != nil {
		coordLis.Close()
		return fed, nil, err
	}
	if err := fed.startCoordinator(ctx, coordLis, roundConfig, aggAddr); err != nil {
		coordLis.Close()
		return fed, child, err
	}
	if err := fed.watchAll(ctx, coordLis.Addr().String(), names); err != nil {
		return fed, child, err
	}
	return fed, child, nil
}

// nextTasks waits for n TRAIN tasks.
func (fed *streamFed) nextTasks(n int) ([]trainTask, error) {
	ts := make([]trainTask, 0, n)
	for len(ts) < n {
		t, err := fed.nextTask(10 * time.Minute)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// submitRound submits generated updates for the tasks ts concurrently
// (float32, or fixed-point if ring).
func (fed *streamFed) submitRound(ts []trainTask, spec model.Spec, ring bool) error {
	dtype := model.F32
	if ring {
		dtype = model.U32
	}
	hdr, err := rawPrefix(spec, dtype)
	if err != nil {
		return err
	}
	size := model.SafetensorsSizeOf(spec, dtype)
	const seeds = 4
	var sums [seeds][32]byte
	for s := range seeds {
		h := sha256.New()
		if _, err := io.Copy(h, newGenReader(hdr, spec.NumParams(), uint64(100+s), ring)); err != nil {
			return err
		}
		h.Sum(sums[s][:0])
	}
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			s := i % seeds
			errs[i] = fed.submit(context.Background(), t, newGenReader(hdr, spec.NumParams(), uint64(100+s), ring), size, sums[s], 50)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
