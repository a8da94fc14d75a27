package external

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/model"
)

// Runner runs the configured external trainer, one round at a time.
type Runner struct {
	cfg     Config
	log     *slog.Logger
	environ func() []string
}

// Result is a validated run: the local model and the trainer's metrics.
type Result struct {
	Model   *model.Model
	Metrics Metrics
}

// New returns a Runner for cfg, which must be valid (Config.Validate).
func New(cfg Config, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	return &Runner{cfg: cfg, log: log.With("trainer", filepath.Base(cfg.Command)), environ: os.Environ}
}

// Train runs the trainer on job in a fresh work directory, validates what
// it wrote and removes the directory. Every failure is an *Error.
func (r *Runner) Train(ctx context.Context, job Job) (*Result, error) {
	if err := checkJob(job); err != nil {
		return nil, fail("job", err)
	}
	// The trainer runs elsewhere: hand it an absolute path.
	if p, err := filepath.Abs(job.Data.Path); err == nil {
		job.Data.Path = p
	}
	dir, err := os.MkdirTemp(r.cfg.WorkDir, fmt.Sprintf("confed-round-%d-", job.Round))
	if err != nil {
		return nil, fail("work directory", err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			r.log.Warn("could not remove the trainer's work directory", "dir", dir, logging.KeyErr, err)
		}
	}()
	if err := os.Mkdir(filepath.Join(dir, tmpDir), 0o700); err != nil {
		return nil, fail("work directory", err)
	}
	roundFile, err := writeInputs(dir, job, r.cfg.Timeout.Std().Seconds())
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := r.run(ctx, dir, roundFile); err != nil {
		return nil, err
	}
	local, err := ReadModel(filepath.Join(dir, ModelFile), job.Global, job.Frozen)
	if err != nil {
		return nil, err
	}
	m, err := ReadMetrics(filepath.Join(dir, MetricsFile), job.MaxExamples)
	if err != nil {
		return nil, err
	}
	r.log.Info("external trainer finished", logging.KeyDuration, time.Since(start).Round(time.Millisecond), "num_examples", m.NumExamples)
	return &Result{Model: local, Metrics: m}, nil
}

// env is the trainer's whole environment: the documented CONFED_*
// variables, HOME and TMPDIR inside the work directory, and the
// allow-listed variables the daemon has.
func (r *Runner) env(dir, roundFile string) []string {
	env := []string{
		"CONFED_TRAINER_CONTRACT=" + Contract,
		"CONFED_ROUND_FILE=" + roundFile,
		"CONFED_WORK_DIR=" + dir,
		"HOME=" + dir,
		"TMPDIR=" + filepath.Join(dir, tmpDir),
	}
	have := map[string]string{}
	for _, kv := range r.environ() {
		for i := range len(kv) {
			if kv[i] == '=' {
				have[kv[:i]] = kv
				break
			}
		}
	}
	for _, name := range r.cfg.Env {
		if kv, ok := have[name]; ok && !reservedEnv(name) {
			env = append(env, kv)
		}
	}
	return env
}
