package external

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/confed/confed/internal/model"
)

// Contract is the version of the file contract, written to round.json.
const Contract = "confed-external-trainer/1"

// Names of the files in the work directory.
const (
	RoundFile   = "round.json"
	GlobalFile  = "global.safetensors"
	ModelFile   = "model.safetensors"
	MetricsFile = "metrics.json"
	tmpDir      = "tmp"
)

// Job is one round's training task for the external trainer.
type Job struct {
	Round       uint64
	Participant string
	Params      Params
	Data        Data
	// ModelKind names the model family, e.g. "logistic_regression".
	ModelKind string
	Global    *model.Model
	// Frozen names tensors the trainer must return unchanged (bit for bit),
	// such as the pooled feature statistics.
	Frozen []string
	// MaxExamples bounds the num_examples the trainer may report: the size
	// of the training split the daemon computed.
	MaxExamples uint64
}

// Params are the round's hyper-parameters as the coordinator sent them,
// with Seed already specific to this participant and round.
type Params struct {
	LocalEpochs  uint32  `json:"local_epochs"`
	LearningRate float64 `json:"learning_rate"`
	BatchSize    uint32  `json:"batch_size"`
	ProximalMu   float64 `json:"proximal_mu"`
	L2           float64 `json:"l2"`
	Seed         uint64  `json:"seed"`
}

// Data says where the local data is and how to split it, as in the
// participant configuration's data section.
type Data struct {
	Format        string   `json:"format"`
	Path          string   `json:"path"`
	TestFraction  float64  `json:"test_fraction"`
	SplitSeed     uint64   `json:"split_seed"`
	TrainExamples uint64   `json:"train_examples"`
	FeatureNames  []string `json:"feature_names"`
}

// roundJSON is the schema of round.json.
type roundJSON struct {
	Contract        string     `json:"contract"`
	Round           uint64     `json:"round"`
	Participant     string     `json:"participant"`
	Hyperparameters Params     `json:"hyperparameters"`
	Data            Data       `json:"data"`
	Model           modelJSON  `json:"model"`
	Output          outputJSON `json:"output"`
	Limits          limitsJSON `json:"limits"`
}

type modelJSON struct {
	Kind    string       `json:"kind"`
	Path    string       `json:"path"`
	SHA256  string       `json:"sha256"`
	Tensors []tensorJSON `json:"tensors"`
	Frozen  []string     `json:"frozen"`
}

type tensorJSON struct {
	Name  string `json:"name"`
	Dtype string `json:"dtype"`
	Shape []int  `json:"shape"`
}

type outputJSON struct {
	Model   string `json:"model"`
	Metrics string `json:"metrics"`
}

type limitsJSON struct {
	TimeoutSeconds  float64 `json:"timeout_seconds"`
	MaxModelBytes   int64   `json:"max_model_bytes"`
	MaxMetricsBytes int     `json:"max_metrics_bytes"`
	MaxExtraMetrics int     `json:"max_extra_metrics"`
	MaxNumExamples  uint64  `json:"max_num_examples"`
}

// writeInputs writes global.safetensors and round.json into dir and
// returns the path of round.json.
func writeInputs(dir string, job Job, timeoutSeconds float64) (string, error) {
	enc := model.EncodeSafetensors(job.Global)
	if err := os.WriteFile(filepath.Join(dir, GlobalFile), enc, 0o600); err != nil {
		return "", fail(GlobalFile, err)
	}
	sum := model.SHA256(job.Global)
	rf := roundJSON{
		Contract: Contract, Round: job.Round, Participant: job.Participant,
		Hyperparameters: job.Params, Data: job.Data,
		Model: modelJSON{Kind: job.ModelKind, Path: filepath.Join(dir, GlobalFile), SHA256: hex.EncodeToString(sum[:]),
			Tensors: tensorsJSON(job.Global.Spec()), Frozen: nonNil(job.Frozen)},
		Output: outputJSON{Model: filepath.Join(dir, ModelFile), Metrics: filepath.Join(dir, MetricsFile)},
		Limits: limitsJSON{TimeoutSeconds: timeoutSeconds, MaxModelBytes: maxModelBytes(job.Global.Spec()),
			MaxMetricsBytes: MaxMetricsBytes, MaxExtraMetrics: MaxExtraMetrics, MaxNumExamples: job.MaxExamples},
	}
	rf.Data.FeatureNames = nonNil(rf.Data.FeatureNames)
	b, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		return "", fail(RoundFile, err)
	}
	path := filepath.Join(dir, RoundFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return "", fail(RoundFile, err)
	}
	return path, nil
}

func tensorsJSON(spec model.Spec) []tensorJSON {
	out := make([]tensorJSON, len(spec))
	for i, t := range spec {
		out[i] = tensorJSON{Name: t.Name, Dtype: "F32", Shape: append([]int{}, t.Shape...)}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkJob catches programming errors before a process is started.
func checkJob(job Job) error {
	if job.Global == nil {
		return fmt.Errorf("no global model")
	}
	if err := job.Global.Validate(); err != nil {
		return err
	}
	for _, name := range job.Frozen {
		if _, ok := job.Global.Lookup(name); !ok {
			return fmt.Errorf("frozen tensor %q is not in the global model", name)
		}
	}
	if job.MaxExamples == 0 {
		return fmt.Errorf("no training examples")
	}
	return nil
}
