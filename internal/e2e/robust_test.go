package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/participant"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// poisonedConfig: three hospitals and "rogue". In round 1 (the feature
// statistics) rogue behaves, contributing the statistics of a real
// hospital's data (Switzerland's); in round 2 it sends a huge update.
// aggregation is the test's aggregation section (without the final
// newline).
func poisonedConfig(aggregation string) string {
	return roundYAML(roundOpts{rounds: 2, expected: []string{"cleveland", "hungary", "long-beach-va", "rogue"}, min: 4, sections: aggregation + "\n"})
}

// runPoisoned runs a federation in which rogue poisons round 2 and returns
// the final model's pooled test accuracy and its largest |weight|.
func runPoisoned(t *testing.T, aggregation string) (accuracy, maxWeight float64) {
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, hs, poisonedConfig(aggregation))
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	f.startCoordinator(ctx, f.coordLis)
	f.startAggregator(ctx)
	fc := confedv1.NewFederationClient(f.dialAs(t, pki.RoleParticipant, "rogue", f.coordAddr, pki.RoleCoordinator))
	jctx, jcancel := context.WithTimeout(ctx, 20*time.Second)
	_, err := fc.Join(jctx, &confedv1.JoinRequest{SoftwareVersion: "rogue/0"})
	jcancel()
	if err != nil {
		select {
		case derr := <-f.errs:
			t.Fatalf("daemon failed: %v", derr)
		default:
			t.Fatal(err)
		}
	}
	watch, err := fc.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.startParticipants(ctx)
	spec := lrSpec(t)
	next := func(round uint64) *confedv1.Task {
		for {
			tk, err := watch.Recv()
			if err != nil {
				t.Fatalf("rogue's task stream: %v", err)
			}
			if tk.GetKind() == confedv1.TaskKind_TASK_KIND_TRAIN && tk.GetRound() == round {
				if _, err := fetchModel(ctx, fc, tk.GetGlobalRound(), tk.GetGlobalModelSha256(), spec); err != nil {
					t.Fatal(err)
				}
				return tk
			}
		}
	}
	task := next(1)
	agg := confedv1.NewAggregatorClient(f.dialAs(t, pki.RoleParticipant, "rogue", task.GetAggregatorAddress(), pki.RoleAggregator))
	stats := swissStatistics(t, spec)
	if resp, err := honestUpload(1, task.GetGlobalModelSha256(), stats, 4096).send(ctx, agg, "rogue"); err != nil || !resp.GetAccepted() {
		t.Fatalf("rogue's honest statistics in round 1: %v %v", resp, err)
	}
	task = next(2)
	// A new connection: the aggregator's attested binding carries the round
	// key of the round that was open when the connection was made.
	agg = confedv1.NewAggregatorClient(f.dialAs(t, pki.RoleParticipant, "rogue", task.GetAggregatorAddress(), pki.RoleAggregator))
	poison := filled(t, spec, 0)
	for _, name := range []string{"weight", "bias"} {
		tn, _ := poison.Lookup(name)
		for i := range tn.Data {
			tn.Data[i] = -1e4 // finite and well-formed, but far from any honest update
		}
	}
	resp, err := honestUpload(2, task.GetGlobalModelSha256(), poison, 4096).send(ctx, agg, "rogue")
	if err != nil || !resp.GetAccepted() {
		t.Fatalf("the poisoned update is well-formed and should be accepted (the defence is the strategy): %v %v", resp, err)
	}
	f.waitParticipants(90 * time.Second)
	final := f.download(t, f.operator(t))
	if got := final.Verified.Manifest.GetRound(); got != 2 {
		t.Fatalf("final model from round %d, want 2", got)
	}
	w, _ := final.Model.Lookup("weight")
	for _, v := range w.Data {
		maxWeight = max(maxWeight, float64(abs32(v)))
	}
	return pooledAccuracy(t, final, hs), maxWeight
}

// swissStatistics is the statistics-round update an honest participant
// holding Switzerland's data would send: the mean and mean square of each
// raw feature over its training split (the global statistics are zero).
func swissStatistics(t *testing.T, spec model.Spec) *model.Model {
	t.Helper()
	all, _, err := heartdisease.Load(dataDir + "/switzerland.data")
	if err != nil {
		t.Fatal(err)
	}
	pd := participant.Default().Data
	train, _, err := heartdisease.Split(all, pd.TestFraction, pd.SplitSeed)
	if err != nil {
		t.Fatal(err)
	}
	upd := filled(t, spec, 0)
	mean, _ := upd.Lookup(model.TensorInputMean)
	sq, _ := upd.Lookup(model.TensorInputSqMean)
	for _, row := range train.X {
		for j, v := range row {
			mean.Data[j] += float32(v / float64(train.Len()))
			sq.Data[j] += float32(v * v / float64(train.Len()))
		}
	}
	return upd
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// TestRobustStrategiesWithstandAPoisoner: one of four participants sends a
// huge update. Trimmed mean (with a FedAvgM server optimiser) and Krum keep
// the model usable; plain FedAvg is dragged far away — the contrast shows
// the test can fail.
func TestRobustStrategiesWithstandAPoisoner(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, aggregation string
		robust            bool
	}{
		{"fedavg", "aggregation:\n  strategy: fedavg", false},
		{"trimmed mean + fedavgm", "aggregation:\n  strategy: trimmed_mean\n  trim_fraction: 0.25\n  byzantine: 1\n  server_optimizer:\n    name: fedavgm\n    server_lr: 1\n    server_momentum: 0.5", true},
		{"multikrum", "aggregation:\n  strategy: multikrum\n  byzantine: 0\n  multikrum_m: 3", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			acc, maxW := runPoisoned(t, tc.aggregation)
			t.Logf("%s: pooled accuracy %.3f, largest |weight| %.3g", tc.name, acc, maxW)
			if tc.robust && (acc < 0.65 || maxW > 10) {
				t.Errorf("%s did not withstand the poisoned update: accuracy %.3f, largest |weight| %.3g", tc.name, acc, maxW)
			}
			if !tc.robust && maxW < 100 {
				t.Errorf("plain FedAvg was not affected by the poisoned update (largest |weight| %.3g): the attack is too weak to test anything", maxW)
			}
		})
	}
}
