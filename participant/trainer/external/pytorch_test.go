package external_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant"
	"github.com/confed/confed/participant/trainer"
	"github.com/confed/confed/participant/trainer/external"
)

// NeedTorch skips the test when Debian's python3-torch is missing, except
// in CI (CI=true), where it fails saying what to install.
func needTorch(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		msg := "the PyTorch example trainer needs torch for " + python + " (Debian package python3-torch; scripts/deps.sh installs it): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// TestPyTorchExampleMatchesBuiltin runs examples/pytorch/trainer.py through
// the Runner on Cleveland's data and checks that it reads, splits and
// standardises the data as internal/heartdisease does and trains as the
// built-in trainer does: same number of examples, same loss and the same
// weights up to float32 rounding, with FedProx and L2 both on.
func TestPyTorchExampleMatchesBuiltin(t *testing.T) {
	needTorch(t)
	global := pooledStatsGlobal(t)
	data := filepath.Join(dataDir, "cleveland.data")
	all, _, err := heartdisease.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	train, _, err := heartdisease.Split(all, 0.34, 42)
	if err != nil {
		t.Fatal(err)
	}
	p := trainer.Params{LocalEpochs: 3, LearningRate: 0.05, BatchSize: 16, ProximalMu: 0.1, L2: 0.01, Seed: 0xfeedface12345678}
	want, stats := builtinTrain(t, global, train, p)

	cfg := external.Config{Command: python, Args: []string{pytorchTrainer}, Timeout: yamlcfg.Duration(5 * time.Minute), WorkDir: t.TempDir()}
	job := external.Job{
		Round: 3, Participant: "cleveland", ModelKind: model.KindLogisticRegression, Global: global,
		Frozen: []string{model.TensorInputMean, model.TensorInputSqMean}, MaxExamples: uint64(train.Len()),
		Params: external.Params{LocalEpochs: uint32(p.LocalEpochs), LearningRate: p.LearningRate, BatchSize: uint32(p.BatchSize),
			ProximalMu: p.ProximalMu, L2: p.L2, Seed: p.Seed},
		Data: external.Data{Format: "uci-heart-disease", Path: data, TestFraction: 0.34, SplitSeed: 42,
			TrainExamples: uint64(train.Len()), FeatureNames: heartdisease.FeatureNames},
	}
	res, err := external.New(cfg, nil).Train(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	emptyDir(t, cfg.WorkDir)
	if res.Metrics.NumExamples != uint64(stats.NumExamples) {
		t.Errorf("PyTorch trained on %d examples, the built-in trainer on %d", res.Metrics.NumExamples, stats.NumExamples)
	}
	if math.Abs(res.Metrics.Loss-stats.Loss) > 1e-9 {
		t.Errorf("PyTorch loss %v, built-in %v", res.Metrics.Loss, stats.Loss)
	}
	got, err := participant.ModelToWeights(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.W {
		if math.Abs(got.W[i]-float64(float32(want.W[i]))) > 1e-6 {
			t.Errorf("weight %d: PyTorch %v, built-in %v", i, got.W[i], want.W[i])
		}
	}
	if math.Abs(got.B-float64(float32(want.B))) > 1e-6 {
		t.Errorf("bias: PyTorch %v, built-in %v", got.B, want.B)
	}
	if res.Metrics.Accuracy < 0.6 || res.Metrics.Accuracy > 1 || res.Metrics.Extra["epochs"] != 3 {
		t.Errorf("metrics %+v", res.Metrics)
	}
	t.Logf("PyTorch: loss %.6f accuracy %.3f; built-in: loss %.6f", res.Metrics.Loss, res.Metrics.Accuracy, stats.Loss)
}

// pooledStatsGlobal is a model carrying the pooled moments of the four
// hospitals' training splits, with small non-zero weights.
func pooledStatsGlobal(t *testing.T) *model.Model {
	t.Helper()
	global := testGlobal(t)
	var trains []heartdisease.Dataset
	for _, h := range heartdisease.Hospitals {
		all, _, err := heartdisease.Load(h.Path(dataDir))
		if err != nil {
			t.Fatal(err)
		}
		tr, _, err := heartdisease.Split(all, 0.34, 42)
		if err != nil {
			t.Fatal(err)
		}
		trains = append(trains, tr)
	}
	pooled := heartdisease.Concat(trains...)
	mean, _ := global.Lookup(model.TensorInputMean)
	sq, _ := global.Lookup(model.TensorInputSqMean)
	for j := range mean.Data {
		var s, s2 float64
		for _, row := range pooled.X {
			s += row[j]
			s2 += row[j] * row[j]
		}
		mean.Data[j] = float32(s / float64(pooled.Len()))
		sq.Data[j] = float32(s2 / float64(pooled.Len()))
	}
	return global
}

// builtinTrain trains as the daemon's built-in path does.
func builtinTrain(t *testing.T, global *model.Model, train heartdisease.Dataset, p trainer.Params) (trainer.Weights, trainer.TrainStats) {
	t.Helper()
	scaler, ok, err := participant.ModelScaler(global)
	if err != nil || !ok {
		t.Fatalf("scaler: ok=%v %v", ok, err)
	}
	std, err := scaler.Transform(train)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := participant.ModelToWeights(global)
	if err != nil {
		t.Fatal(err)
	}
	w, stats, err := trainer.Train(gw, std, p)
	if err != nil {
		t.Fatal(err)
	}
	return w, stats
}
