package external_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant/trainer/external"
)

// python is Debian's interpreter: the pyenv shim on PATH has no torch.
const python = "/usr/bin/python3"

var (
	fakeTrainer    = mustAbs("../../testdata/trainers/fake_trainer.py")
	pytorchTrainer = mustAbs("../../../examples/pytorch/trainer.py")
	dataDir        = mustAbs("../../../data/heart-disease")
)

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is needed to run the test trainers (Debian package python3): %v", python, err)
	}
}

// testGlobal is a logistic-regression model of 13 features with feature
// statistics and non-zero weights.
func testGlobal(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: heartdisease.NumFeatures, Init: model.InitNormal, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	mean, _ := m.Lookup(model.TensorInputMean)
	sq, _ := m.Lookup(model.TensorInputSqMean)
	for i := range mean.Data {
		mean.Data[i] = float32(i) + 0.5
		sq.Data[i] = mean.Data[i]*mean.Data[i] + float32(i+1)
	}
	return m
}

// fakeJob is a job for the fake trainer: it only reads the model and
// train_examples.
func fakeJob(t testing.TB) external.Job {
	return external.Job{
		Round: 2, Participant: "cleveland", ModelKind: model.KindLogisticRegression, Global: testGlobal(t),
		Frozen:      []string{model.TensorInputMean, model.TensorInputSqMean},
		MaxExamples: 200,
		Params:      external.Params{LocalEpochs: 2, LearningRate: 0.05, BatchSize: 16, Seed: 1},
		Data: external.Data{Format: "uci-heart-disease", Path: filepath.Join(dataDir, "cleveland.data"), TestFraction: 0.34,
			SplitSeed: 42, TrainExamples: 200, FeatureNames: heartdisease.FeatureNames},
	}
}

// fakeConfig runs the fake trainer in mode under a fresh work root.
func fakeConfig(t *testing.T, timeout time.Duration, args ...string) external.Config {
	return external.Config{Command: python, Args: append([]string{fakeTrainer}, args...),
		Timeout: yamlcfg.Duration(timeout), WorkDir: t.TempDir()}
}

// logBuffer collects a Runner's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// wantError checks that err is an *external.Error at where whose message
// contains every part of want.
func wantError(t *testing.T, err error, where string, want ...string) {
	t.Helper()
	var e *external.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *external.Error", err, err)
	}
	if e.Where != where {
		t.Errorf("error %q is about %q, want %q", err, e.Where, where)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// emptyDir fails unless dir is empty (every work directory was removed).
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("left behind in the work root: %s", e.Name())
	}
}
