package external_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/participant/trainer/external"
)

// TestRunnerFakeTrainer runs the fake trainer in each of its modes: the
// good ones give a validated model and metrics, every bad one an error
// naming the file or step and what was expected; no run leaves its work
// directory behind.
func TestRunnerFakeTrainer(t *testing.T) {
	needPython(t)
	tests := []struct {
		mode  string
		where string // "" for success
		want  []string
	}{
		{"ok", "", nil},
		{"noisy", "", nil},
		{"crash", "exit", []string{"exited with status 3, want 0", "participant's log"}},
		{"wrong-shape", external.ModelFile, []string{`tensor "weight" has shape [12], want [13]`}},
		{"nan", external.ModelFile, []string{`tensor "weight" element 0 is NaN`, "finite"}},
		{"f64", external.ModelFile, []string{"F32"}},
		{"extra-tensor", external.ModelFile, []string{`unexpected tensor "momentum"`, "weight[13]"}},
		{"frozen-changed", external.ModelFile, []string{`tensor "input_mean" element 0 was changed`}},
		{"symlink", external.ModelFile, []string{"a symbolic link", "regular file"}},
		{"missing-model", external.ModelFile, []string{"did not write it"}},
		{"missing-metrics", external.MetricsFile, []string{"did not write it"}},
		{"bad-metrics", external.MetricsFile, []string{`unknown key "auc"`, "num_examples, loss, accuracy"}},
		{"nan-metrics", external.MetricsFile, []string{"not valid JSON", "NaN"}},
		{"zero-examples", external.MetricsFile, []string{"num_examples must be an integer from 1 to 200", `got "0"`}},
		{"too-many-examples", external.MetricsFile, []string{"from 1 to 200", `got "201"`}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			cfg := fakeConfig(t, time.Minute, tt.mode)
			var logs logBuffer
			job := fakeJob(t)
			before := model.SHA256(job.Global)
			res, err := external.New(cfg, logs.logger()).Train(context.Background(), job)
			emptyDir(t, cfg.WorkDir)
			if model.SHA256(job.Global) != before {
				t.Error("the run changed the global model it was given")
			}
			if tt.where != "" {
				wantError(t, err, tt.where, tt.want...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkFakeResult(t, job, res)
			if !strings.Contains(logs.String(), "fake trainer: round 2, mode "+tt.mode) {
				t.Errorf("the trainer's stdout is not in the log:\n%s", logs.String())
			}
		})
	}
}

func checkFakeResult(t *testing.T, job external.Job, res *external.Result) {
	t.Helper()
	if res.Metrics.NumExamples != 200 || res.Metrics.Loss != 0.5 || res.Metrics.Accuracy != 0.75 ||
		!maps.Equal(res.Metrics.Extra, map[string]float64{"fake": 1}) {
		t.Errorf("metrics %+v", res.Metrics)
	}
	gw, _ := job.Global.Lookup("weight")
	lw, _ := res.Model.Lookup("weight")
	for i := range gw.Data {
		if d := lw.Data[i] - gw.Data[i]; d < 0.0099 || d > 0.0101 {
			t.Fatalf("weight %d moved by %v, want 0.01", i, d)
		}
	}
}

// TestRunnerOutputCapped: a trainer printing far more than the log takes
// still succeeds; what is logged stays within MaxOutputBytes and the log
// says how much was dropped.
func TestRunnerOutputCapped(t *testing.T) {
	needPython(t)
	var logs logBuffer
	if _, err := external.New(fakeConfig(t, time.Minute, "noisy"), logs.logger()).Train(context.Background(), fakeJob(t)); err != nil {
		t.Fatal(err)
	}
	logged, dropped := 0, false
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if s, ok := rec["line"].(string); ok {
			logged += len(s)
			if len(s) > 1100 {
				t.Errorf("a logged line has %d bytes, want at most about 1 KiB", len(s))
			}
		}
		if _, ok := rec["dropped_bytes"]; ok {
			dropped = true
		}
	}
	if logged > external.MaxOutputBytes || logged < external.MaxOutputBytes/2 {
		t.Errorf("logged %d bytes of output, want between %d and %d", logged, external.MaxOutputBytes/2, external.MaxOutputBytes)
	}
	if !dropped {
		t.Error("the log does not say that output was dropped")
	}
}

// TestRunnerTimeout: a trainer that outlives trainer.external.timeout is
// killed and the error says so.
func TestRunnerTimeout(t *testing.T) {
	needPython(t)
	pids := filepath.Join(t.TempDir(), "pids")
	cfg := fakeConfig(t, 200*time.Millisecond, "hang", pids)
	_, err := external.New(cfg, nil).Train(context.Background(), fakeJob(t))
	wantError(t, err, "timeout", "did not finish within trainer.external.timeout (200ms)", "process group was killed")
	emptyDir(t, cfg.WorkDir)
	if b, err := os.ReadFile(pids); err == nil {
		checkDead(t, string(b))
	}
}

// TestRunnerKillsProcessGroup: when the round ends while the trainer runs,
// the trainer and the child it started are both killed.
func TestRunnerKillsProcessGroup(t *testing.T) {
	needPython(t)
	pids := filepath.Join(t.TempDir(), "pids")
	cfg := fakeConfig(t, time.Hour, "hang", pids)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := external.New(cfg, nil).Train(ctx, fakeJob(t))
		errc <- err
	}()
	var content string
	for content == "" || !strings.HasSuffix(content, "\n") {
		select {
		case err := <-errc:
			t.Fatalf("the hanging trainer ended by itself: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		b, _ := os.ReadFile(pids)
		content = string(b)
	}
	cancel()
	wantError(t, <-errc, "timeout", "round's deadline passed", "process group was killed")
	checkDead(t, content)
	emptyDir(t, cfg.WorkDir)
}

// checkDead fails unless every pid in the "pid child" line is gone (or a
// zombie awaiting its reaper).
func checkDead(t *testing.T, line string) {
	t.Helper()
	for f := range strings.FieldsSeq(line) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, 0); err == nil {
			stat, _ := os.ReadFile(filepath.Join("/proc", f, "stat"))
			if fields := strings.Fields(string(stat)); len(fields) < 3 || fields[2] != "Z" {
				t.Errorf("process %d of the trainer's group is still alive: %s", pid, stat)
			}
		}
	}
}

// TestRunnerEnvironment: the trainer sees the documented variables and the
// allow-listed ones, nothing else of the daemon's environment.
func TestRunnerEnvironment(t *testing.T) {
	needPython(t)
	t.Setenv("FAKE_ALLOWED", "yes")
	t.Setenv("FAKE_DENIED", "secret")
	out := filepath.Join(t.TempDir(), "env.json")
	cfg := fakeConfig(t, time.Minute, "env", out)
	cfg.Env = []string{"FAKE_ALLOWED", "NOT_SET_ANYWHERE"}
	if _, err := external.New(cfg, nil).Train(context.Background(), fakeJob(t)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	// Python may set LC_CTYPE itself (PEP 538).
	allowed := []string{"CONFED_TRAINER_CONTRACT", "CONFED_ROUND_FILE", "CONFED_WORK_DIR", "HOME", "TMPDIR", "FAKE_ALLOWED", "LC_CTYPE"}
	for k := range env {
		if !slices.Contains(allowed, k) {
			t.Errorf("the trainer saw %s, which is neither documented nor allowed", k)
		}
	}
	if env["FAKE_ALLOWED"] != "yes" || env["CONFED_TRAINER_CONTRACT"] != external.Contract ||
		filepath.Base(env["CONFED_ROUND_FILE"]) != external.RoundFile || env["HOME"] != env["CONFED_WORK_DIR"] ||
		env["TMPDIR"] != filepath.Join(env["HOME"], "tmp") || filepath.Dir(env["HOME"]) != cfg.WorkDir {
		t.Errorf("environment %v", env)
	}
}
