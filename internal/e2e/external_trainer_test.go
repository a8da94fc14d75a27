package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant"
	"github.com/confed/confed/participant/trainer/external"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// debianPython has torch (python3-torch); the python3 on PATH may not.
const debianPython = "/usr/bin/python3"

var (
	pytorchExample = filepath.Join("..", "..", "examples", "pytorch", "trainer.py")
	fakeTrainer    = filepath.Join("..", "..", "participant", "testdata", "trainers", "fake_trainer.py")
)

// startParticipantsWith is startParticipants with edit applied to each
// hospital's configuration.
func (f *fed) startParticipantsWith(ctx context.Context, edit func(h heartdisease.Hospital, cfg *participant.Config)) {
	for _, h := range f.hospitals {
		cfg := participant.Default()
		cfg.AggregatorAttestation = simulatedPolicy
		cfg.Coordinator = f.coordAddr
		cfg.Data.Path = filepath.Join(dataDir, h.File)
		cfg.TLS = f.issue(pki.RoleParticipant, h.Name)
		edit(h, &cfg)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.participants <- participant.Run(ctx, cfg, participant.Options{InsecureSimulatedTEE: true, ExitWhenFinished: true,
				Logger: testLogger(f.t, h.Name)})
		}()
	}
}

// externalTrainer configures a hospital to train with python script and
// args, in a work root of its own.
func externalTrainer(t *testing.T, cfg *participant.Config, script string, timeout time.Duration, args ...string) string {
	t.Helper()
	abs, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	cfg.Trainer = participant.TrainerConfig{Kind: "external", External: &external.Config{
		Command: debianPython, Args: append([]string{abs}, args...), Timeout: yamlcfg.Duration(timeout), WorkDir: root}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return root
}

// runFederation runs hs through roundYAML, editing each participant's
// configuration, until the participants exit; it returns the federation,
// the operator's view of its rounds, an operator client and a function
// that stops the coordinator and the aggregator (also run at cleanup).
func runFederation(t *testing.T, hs []heartdisease.Hospital, roundYAML string, edit func(heartdisease.Hospital, *participant.Config)) (*fed, []*confedv1.RoundStatus, confedv1.OperatorClient, func()) {
	t.Helper()
	f := newFed(t, hs, roundYAML)
	ctx, cancel := context.WithCancel(context.Background())
	f.startCoordinator(ctx, f.coordLis)
	f.startAggregator(ctx)
	f.startParticipantsWith(ctx, edit)
	f.waitParticipants(4 * time.Minute)
	op := f.operator(t)
	resp, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	stop := func() { cancel(); f.wg.Wait() }
	t.Cleanup(stop)
	return f, resp.GetRounds(), op, stop
}

// submission returns name's submission to r, if any.
func submission(r *confedv1.RoundStatus, name string) *confedv1.SubmissionStatus {
	for _, s := range r.GetSubmissions() {
		if s.GetParticipant() == name {
			return s
		}
	}
	return nil
}

// TestExternalPyTorchTrainer runs a federation in which Cleveland trains
// with examples/pytorch/trainer.py and the two others with the built-in
// trainer: every round publishes with Cleveland's update included, and the
// final model equals, up to float rounding, the one of the same federation
// trained by the built-in trainer everywhere (the example reproduces the
// built-in preprocessing, split, standardisation and SGD).
func TestExternalPyTorchTrainer(t *testing.T) {
	t.Parallel()
	if err := exec.Command(debianPython, "-c", "import torch").Run(); err != nil {
		msg := fmt.Sprintf("the PyTorch federation needs torch for %s (Debian package python3-torch; scripts/deps.sh installs it): %v", debianPython, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	cfgYAML := roundYAML(roundOpts{rounds: 3, min: 3, roundDeadline: "2m"})
	var root string
	f, rounds, op, _ := runFederation(t, hs, cfgYAML, func(h heartdisease.Hospital, cfg *participant.Config) {
		if h.Name == "cleveland" {
			root = externalTrainer(t, cfg, pytorchExample, 2*time.Minute)
		}
	})
	if len(rounds) != 4 {
		t.Fatalf("%d rounds, want 0..3", len(rounds))
	}
	for _, r := range rounds[1:] {
		if r.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || included(r) != 3 {
			t.Errorf("round %d: %v with %d updates (%s), want published with 3", r.GetRound(), r.GetState(), included(r), r.GetReason())
		}
		s := submission(r, "cleveland")
		if s == nil || !s.GetIncluded() {
			t.Fatalf("round %d: Cleveland's update is not included", r.GetRound())
		}
		if r.GetRound() >= 2 && (s.GetMetrics()["trainer_epochs"] != 5 || s.GetMetrics()["train_accuracy"] <= 0.5 || s.GetMetrics()["local_accuracy"] <= 0.5) {
			t.Errorf("round %d: Cleveland's metrics %v do not come from the PyTorch trainer", r.GetRound(), s.GetMetrics())
		}
	}
	final := f.download(t, op)
	acc := pooledAccuracy(t, final, hs)
	if acc < 0.7 {
		t.Errorf("pooled test accuracy %.3f, want >= 0.7", acc)
	}
	if _, err := ledger.Verify(f.ledgerEntries(t, op), ledger.VerifyOptions{RequireEvidence: true}); err != nil {
		t.Errorf("ledger: %v", err)
	}
	emptyWorkRoot(t, root)

	g, _, gop, _ := runFederation(t, hs, cfgYAML, func(heartdisease.Hospital, *participant.Config) {})
	builtin := g.download(t, gop)
	if d := maxDiff(final.Model, builtin.Model); d > 1e-4 {
		t.Errorf("the federated model with Cleveland on PyTorch differs from the all-built-in one by up to %g", d)
	}
	t.Logf("pooled accuracy %.3f; largest difference to the all-built-in federation %g", acc, maxDiff(final.Model, builtin.Model))
}

func maxDiff(a, b *model.Model) float64 {
	fa, fb := a.Flat(), b.Flat()
	if len(fa) != len(fb) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range fa {
		d = math.Max(d, math.Abs(float64(fa[i])-float64(fb[i])))
	}
	return d
}

func emptyWorkRoot(t *testing.T, root string) {
	t.Helper()
	es, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("the trainer's work directory %s was left behind", e.Name())
	}
}

// failingRounds: four hospitals, any three of which make a round.
var failingRounds = roundYAML(roundOpts{rounds: 6, expected: []string{"cleveland", "hungary", "switzerland", "long-beach-va"}, min: 3, roundDeadline: "5s"})

// TestExternalTrainerFailures: Switzerland's external trainer crashes,
// hangs, writes a wrongly shaped model, a NaN and bad metrics in rounds 2
// to 6. Each time Switzerland reports the precise reason to the
// coordinator and skips the round; the others' rounds publish; Switzerland
// still contributes its statistics in round 1, where no trainer runs; the
// ledger and the stored models verify and no work directory is left.
func TestExternalTrainerFailures(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("the fake trainer needs %s (Debian package python3): %v", debianPython, err)
	}
	hs := heartdisease.Hospitals
	var root string
	f, rounds, op, stop := runFederation(t, hs, failingRounds, func(h heartdisease.Hospital, cfg *participant.Config) {
		if h.Name == "switzerland" {
			root = externalTrainer(t, cfg, fakeTrainer, 2*time.Second, "rounds=crash,hang,wrong-shape,nan,bad-metrics")
		}
	})
	want := map[uint64]string{
		2: "training: external trainer: exit: exited with status 3, want 0",
		3: "training: external trainer: timeout: did not finish within trainer.external.timeout (2s)",
		4: `training: external trainer: model.safetensors: tensor "weight" has shape [12], want [13]`,
		5: `training: external trainer: model.safetensors: tensor "weight" element 0 is NaN`,
		6: `training: external trainer: metrics.json: unknown key "auc"`,
	}
	if len(rounds) != 7 {
		t.Fatalf("%d rounds, want 0..6", len(rounds))
	}
	for _, r := range rounds[1:] {
		wantIncluded := 3
		if r.GetRound() == 1 {
			wantIncluded = 4
		}
		if r.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || included(r) != wantIncluded {
			t.Errorf("round %d: %v with %d updates (%s), want published with %d", r.GetRound(), r.GetState(), included(r), r.GetReason(), wantIncluded)
		}
		if r.GetRound() == 1 {
			continue
		}
		if s := submission(r, "switzerland"); s != nil {
			t.Errorf("round %d: Switzerland submitted although its trainer failed: %v", r.GetRound(), s)
		}
		checkTrainerEvent(t, r, want[r.GetRound()])
	}
	final := f.download(t, op)
	if acc := pooledAccuracy(t, final, hs); acc < 0.7 {
		t.Errorf("pooled test accuracy %.3f, want >= 0.7", acc)
	}
	if _, err := ledger.Verify(f.ledgerEntries(t, op), ledger.VerifyOptions{RequireEvidence: true}); err != nil {
		t.Errorf("ledger: %v", err)
	}
	emptyWorkRoot(t, root)
	stop()
	f.checkStore(t, 8) // genesis and rounds 0..6
}

// checkTrainerEvent requires Switzerland's trainer_failed report in r,
// saying want.
func checkTrainerEvent(t *testing.T, r *confedv1.RoundStatus, want string) {
	t.Helper()
	for _, ev := range r.GetEvents() {
		if ev.GetParticipant() == "switzerland" && ev.GetKind() == "trainer_failed" {
			if !strings.Contains(ev.GetReason(), want) {
				t.Errorf("round %d: Switzerland reported %q, want %q", r.GetRound(), ev.GetReason(), want)
			}
			return
		}
	}
	t.Errorf("round %d: no trainer_failed report from Switzerland in %v", r.GetRound(), r.GetEvents())
}
