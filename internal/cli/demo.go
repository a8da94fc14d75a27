package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

type demoOptions struct {
	bin, dir, data, roundConfig string
	timeout                     time.Duration
	// serve keeps the coordinator and its dashboard running after the
	// federation has finished, until interrupted.
	serve bool
}

// runDemo runs a whole federation as separate processes on loopback: a
// coordinator, an aggregator in the INSECURE simulated TEE, and one
// participant per hospital of the UCI Heart Disease data. It prints progress
// per round and ends with a table comparing the federated model with local
// and centralised training.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed demo", stderr)
	var o demoOptions
	fs.StringVar(&o.bin, "bin", "bin", "folder with the confed binaries")
	fs.StringVar(&o.dir, "dir", "demo-run", "working folder (wiped if it holds a previous demo)")
	fs.StringVar(&o.data, "data", "data/heart-disease", "folder with the UCI Heart Disease files")
	fs.StringVar(&o.roundConfig, "round-config", "", "round configuration file (default: the embedded heart-disease federation)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on the federation after this long")
	fs.BoolVar(&o.serve, "serve", false, "serve the operator dashboard over HTTPS (address and token printed) and keep serving it after the federation has finished, until interrupted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if o.bin, err = filepath.Abs(o.bin); err != nil {
		return err
	}
	if o.data, err = filepath.Abs(o.data); err != nil {
		return err
	}
	return demo(ctx, o, stdout)
}

// demo runs the federation within o.timeout; with o.serve it then keeps
// the coordinator and aggregator running until ctx ends.
func demo(parent context.Context, o demoOptions, out io.Writer) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	raw, rc, err := demoRoundConfig(o.roundConfig)
	if err != nil {
		return err
	}
	l, err := demoSetup(o, raw, rc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "confed demo: federation %q, %d hospitals, %d rounds, working folder %s\n",
		rc.Federation, len(rc.Participants.Expected), rc.Rounds, l.dir)
	fmt.Fprintln(out, "WARNING: the aggregator runs in the INSECURE simulated TEE (no TEE hardware here); every record says so.")
	procs, err := startDemo(ctx, o, l, rc)
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop(5 * time.Second)
		}
	}()
	if err != nil {
		return err
	}
	if o.serve {
		printDashboard(out, l)
	}
	c := &clientFlags{addr: l.coordAddr, Files: operatorFiles(l), insecureSimulated: true}
	if err := followRounds(ctx, c, procs[:2], out); err != nil {
		return err
	}
	v, err := provider.SimulatedVerifier(tee.Options{AllowInsecureSimulated: true})
	if err != nil {
		return err
	}
	final, err := fetchModel(ctx, c, -1, modelio.Expect{Federation: rc.Federation, Verifier: v})
	if err != nil {
		return fmt.Errorf("downloading the final model: %w", err)
	}
	if err := writeModelFile(l.path("final-model.safetensors"), final.Model); err != nil {
		return err
	}
	sum, err := summarize(final, rc, o.data)
	if err != nil {
		return err
	}
	sum.Seconds = time.Since(start).Seconds()
	printSummary(out, sum)
	path := l.path("summary.json")
	if err := writeSummary(path, sum); err != nil {
		return err
	}
	abs, _ := filepath.Abs(path)
	fmt.Fprintf(out, "\nfederation finished in %.1f s\nsummary written to %s\nlogs in %s, final model in %s\n",
		sum.Seconds, abs, l.logs, l.path("final-model.safetensors"))
	if o.serve {
		return serveDashboard(parent, l, procs[0], out)
	}
	return nil
}

func demoRoundConfig(path string) ([]byte, roundconfig.Config, error) {
	raw := roundconfig.HeartDiseaseDefault()
	name := "embedded heart-disease.yaml"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, roundconfig.Config{}, err
		}
		raw, name = b, path
	}
	rc, err := roundconfig.Parse(name, raw)
	return raw, rc, err
}

func demoSetup(o demoOptions, raw []byte, rc roundconfig.Config) (demoLayout, error) {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return demoLayout{}, err
	}
	l := demoLayout{dir: dir, pki: filepath.Join(dir, "pki"), logs: filepath.Join(dir, "logs"), data: filepath.Join(dir, "data")}
	if err := prepareDir(dir); err != nil {
		return l, err
	}
	if err := os.MkdirAll(l.logs, 0o755); err != nil {
		return l, err
	}
	if l.coordAddr, err = freePort(); err != nil {
		return l, err
	}
	if l.aggAddr, err = freePort(); err != nil {
		return l, err
	}
	if o.serve {
		if err := prepareDashboard(&l); err != nil {
			return l, err
		}
	}
	if err := issueDemoCredentials(l, rc.Federation, rc.Participants.Expected); err != nil {
		return l, fmt.Errorf("issuing credentials: %w", err)
	}
	if err := writeDemoConfigs(l, raw, o.data); err != nil {
		return l, err
	}
	return l, nil
}

// startDemo starts the coordinator, the aggregator and the participants;
// the first two entries of the result are the coordinator and aggregator.
func startDemo(ctx context.Context, o demoOptions, l demoLayout, rc roundconfig.Config) ([]*proc, error) {
	var procs []*proc
	start := func(binName, name string, args ...string) error {
		p, err := startProc(ctx, l, filepath.Join(o.bin, binName), name, args...)
		if err == nil {
			procs = append(procs, p)
		}
		return err
	}
	if err := start("confed-coordinator", "coordinator", "--config", l.path("coordinator.yaml"), "--insecure-simulated-tee"); err != nil {
		return procs, err
	}
	if err := start("confed-aggregator", "aggregator", "--config", l.path("aggregator.yaml"), "--insecure-simulated-tee"); err != nil {
		return procs, err
	}
	for _, name := range rc.Participants.Expected {
		if err := start("confed-participant", name, "--config", l.path("participant-"+name+".yaml"),
			"--insecure-simulated-tee", "--exit-when-finished"); err != nil {
			return procs, err
		}
	}
	return procs, nil
}

// followRounds prints each round as it finishes, until the federation has
// finished.
func followRounds(ctx context.Context, c *clientFlags, daemons []*proc, out io.Writer) error {
	var watch confedv1.Operator_WatchStatusClient
	for watch == nil {
		if err := exited(daemons); err != nil {
			return err
		}
		conn, err := c.dial()
		if err != nil {
			return err
		}
		defer conn.Close()
		watch, err = confedv1.NewOperatorClient(conn).WatchStatus(ctx, &confedv1.WatchStatusRequest{})
		if err == nil {
			_, err = watch.Header()
		}
		if err != nil {
			watch = nil
			select {
			case <-ctx.Done():
				return fmt.Errorf("coordinator did not come up: %w", err)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	printed := map[uint64]bool{}
	for {
		resp, err := watch.Recv()
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("demo timed out; see the logs")
			}
			if e := exited(daemons); e != nil {
				return e
			}
			return fmt.Errorf("watching the coordinator: %w", err)
		}
		printProgress(out, resp, printed)
		if resp.GetFinished() {
			return nil
		}
	}
}

func printProgress(out io.Writer, resp *confedv1.ListRoundsResponse, printed map[uint64]bool) {
	for _, r := range resp.GetRounds() {
		terminal := r.GetState() == confedv1.RoundState_ROUND_STATE_PUBLISHED || r.GetState() == confedv1.RoundState_ROUND_STATE_FAILED
		if !terminal || printed[r.GetRound()] {
			continue
		}
		printed[r.GetRound()] = true
		if r.GetRound() == 0 {
			fmt.Fprintf(out, "round  0  initial model published  %s\n", short(r.GetModelSha256()))
			continue
		}
		dur := ""
		if r.GetOpenedAt() != nil && r.GetClosedAt() != nil {
			dur = r.GetClosedAt().AsTime().Sub(r.GetOpenedAt().AsTime()).Round(10 * time.Millisecond).String()
		}
		what := fmt.Sprintf("accuracy of the round's starting model at the hospitals %.3f", weightedMetric(r, "global_accuracy"))
		if weightedMetric(r, "statistics_round") > 0 || isStatisticsRound(r) {
			what = "pooled feature statistics computed"
		}
		fmt.Fprintf(out, "round %2d/%d  %-9s  %d updates  %6s  model %s  %s  %s\n",
			r.GetRound(), resp.GetPlannedRounds(), stateLabel(r.GetState()), included(r), dur, short(r.GetModelSha256()),
			what, r.GetReason())
	}
}

// isStatisticsRound reports the round in which participants contributed
// their feature statistics rather than trained weights.
func isStatisticsRound(r *confedv1.RoundStatus) bool {
	for _, s := range r.GetSubmissions() {
		if s.GetIncluded() && s.GetMetrics()["statistics_round"] == 1 {
			return true
		}
	}
	return false
}

// weightedMetric averages a participant metric weighted by test examples.
func weightedMetric(r *confedv1.RoundStatus, name string) float64 {
	var sum, n float64
	for _, s := range r.GetSubmissions() {
		if !s.GetIncluded() {
			continue
		}
		w := s.GetMetrics()["test_examples"]
		sum += w * s.GetMetrics()[name]
		n += w
	}
	if n == 0 {
		return 0
	}
	return sum / n
}
