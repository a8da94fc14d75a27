package cli

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant"
)

// commandsRounds is a federation of two hospitals: with two updates the
// aggregate does not depend on their order, so the models, and with the
// coordinator's fixed clock the whole output, are the same on every run.
const commandsRounds = `federation: cli-golden
rounds: 2
model:
  kind: logistic_regression
  features: 13
participants:
  expected: [cleveland, hungary]
  min: 2
timing:
  join_timeout: 30s
  aggregator_ready_timeout: 30s
  round_deadline: 60s
  aggregation_timeout: 30s
training:
  local_epochs: 3
  learning_rate: 0.05
  batch_size: 16
tee:
  aggregator: simulated
`

// fixedNow is the coordinator's clock in these tests: every timestamp in
// the round statuses and the ledger is this instant.
var fixedNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// cliFed is a federation run in this process for the CLI's tests.
type cliFed struct {
	dir    string
	addr   string
	client []string // the client flags of an operator
	stop   func()
}

// startCLIFed runs a coordinator, an aggregator and two participants over
// loopback gRPC with mutual TLS until both rounds are published; the
// coordinator and the aggregator keep running until the test ends.
func startCLIFed(t *testing.T) *cliFed {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), "cli-golden", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(role pki.Role, name string, hosts ...string) yamlcfg.TLSFiles {
		files, err := pki.IssueToDir(ca, pki.IssueRequest{Identity: pki.Identity{Federation: "cli-golden", Role: role, Name: name},
			Hosts: hosts, Validity: time.Hour}, filepath.Join(dir, "pki", name))
		if err != nil {
			t.Fatal(err)
		}
		return yamlcfg.TLSFiles(files)
	}
	roundFile := filepath.Join(dir, "federation.yaml")
	if err := os.WriteFile(roundFile, []byte(commandsRounds), 0o644); err != nil {
		t.Fatal(err)
	}
	coordLis, aggLis := tcpListen(t), tcpListen(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil {
				errs <- err
			}
		}()
	}
	quiet, _ := logging.New(testLog{t}, "warn", "text", "fed")
	ccfg := coordinator.Default()
	ccfg.Listen, ccfg.Database, ccfg.RoundConfig = coordLis.Addr().String(), filepath.Join(dir, "coordinator.db"), roundFile
	ccfg.AggregatorAddress = aggLis.Addr().String()
	ccfg.TLS = issue(pki.RoleCoordinator, "coordinator", "127.0.0.1")
	run(func() error {
		return coordinator.Run(ctx, ccfg, coordinator.Options{InsecureSimulatedTEE: true, Listener: coordLis, Logger: quiet,
			Tick: 20 * time.Millisecond, Now: func() time.Time { return fixedNow }})
	})
	acfg := aggregator.Default()
	acfg.Attestation = provider.Policy{TEE: "simulated"}
	acfg.Listen, acfg.Coordinator = aggLis.Addr().String(), coordLis.Addr().String()
	acfg.TLS = issue(pki.RoleAggregator, "aggregator", "127.0.0.1")
	run(func() error {
		return aggregator.Run(ctx, acfg, aggregator.Options{InsecureSimulatedTEE: true, Listener: aggLis, Logger: quiet})
	})
	done := make(chan error, 2)
	for _, h := range heartdisease.Hospitals[:2] {
		pcfg := participant.Default()
		pcfg.AggregatorAttestation = provider.Policy{TEE: "simulated"}
		pcfg.Coordinator = coordLis.Addr().String()
		pcfg.Data.Path = filepath.Join("..", "..", "data", "heart-disease", h.File)
		pcfg.TLS = issue(pki.RoleParticipant, h.Name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			done <- participant.Run(ctx, pcfg, participant.Options{InsecureSimulatedTEE: true, ExitWhenFinished: true, Logger: quiet})
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	timeout := time.After(2 * time.Minute)
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("participant: %v", err)
			}
		case err := <-errs:
			t.Fatalf("daemon: %v", err)
		case <-timeout:
			t.Fatal("the federation did not finish within 2 minutes")
		}
	}
	op := issue(pki.RoleOperator, "auditor")
	return &cliFed{dir: dir, addr: coordLis.Addr().String(), client: []string{"--coordinator", coordLis.Addr().String(),
		"--cert", op.Cert, "--key", op.Key, "--ca", op.CA}}
}

func tcpListen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // logging after the test ended
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestCommandsGolden runs each read command against a real coordinator, in
// both output formats, and compares the outcome with
// testdata/commands/NAME.golden (go test -run TestCommandsGolden -update
// rewrites them).
func TestCommandsGolden(t *testing.T) {
	f := startCLIFed(t)
	out := filepath.Join(f.dir, "model.safetensors")
	cases := []struct {
		name   string
		args   []string // shown in the golden file
		client bool     // the operator's client flags are added
	}{
		{"rounds-ls", []string{"rounds", "ls"}, true},
		{"rounds-ls-json", []string{"rounds", "ls", "--format", "json"}, true},
		{"round-show", []string{"round", "show", "2"}, true},
		{"round-show-json", []string{"round", "show", "1", "--format", "json"}, true},
		{"round-show-missing", []string{"round", "show", "9"}, true},
		{"model-get", []string{"model", "get", "--round", "2", "--federation", "cli-golden", "--insecure-simulated-tee", "-o", out}, true},
		{"model-get-json", []string{"model", "get", "--federation", "cli-golden", "--insecure-simulated-tee", "--output", out, "--format", "json"}, true},
		{"ledger-verify", []string{"ledger", "verify"}, true},
		{"ledger-verify-json", []string{"ledger", "verify", "--format", "json"}, true},
		{"rounds-ls-old-o", []string{"rounds", "ls", "-o", "json"}, true},
		{"format-invalid", []string{"round", "show", "--format", "yaml", "1"}, true},
		{"config-validate", []string{"config", "validate", "--kind", "coordinator", "testdata/commands/coordinator-valid.yaml", "testdata/commands/coordinator-invalid.yaml"}, false},
		{"config-validate-json", []string{"config", "validate", "--kind", "coordinator", "--format", "json", "testdata/commands/coordinator-valid.yaml", "testdata/commands/coordinator-invalid.yaml"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.client {
				args = append(slicesClone(args), f.client...)
			}
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), args, &stdout, &stderr)
			scrub := func(s string) string {
				s = strings.ReplaceAll(s, f.dir, "$DIR")
				s = strings.ReplaceAll(s, f.addr, "$COORDINATOR")
				return scrubVolatile(s)
			}
			checkCommandGolden(t, c.name, c.args, code, scrub(stdout.String()), scrub(stderr.String()), f.dir)
		})
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// volatile are the values that differ between runs even with a fixed
// clock: the ledger's head hash covers signatures by a key the aggregator
// draws at start.
var volatile = []*regexp.Regexp{
	regexp.MustCompile(`(head )[0-9a-f]{64}`),
	regexp.MustCompile(`("head_sha256": ")[0-9a-f]{64}`),
}

func scrubVolatile(s string) string {
	for _, re := range volatile {
		s = re.ReplaceAllString(s, "${1}<head>")
	}
	return s
}

// checkCommandGolden compares a command's outcome with its golden file.
func checkCommandGolden(t *testing.T, name string, args []string, code int, stdout, stderr, dir string) {
	t.Helper()
	shown := strings.ReplaceAll(strings.Join(args, " "), dir, "$DIR")
	got := "$ confed " + shown + "\nexit status " + strconv.Itoa(code) + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr
	path := filepath.Join(commandsGoldenDir, name+".golden")
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update creates it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it)\n--- got\n%s\n--- want\n%s", path, t.Name(), got, want)
	}
}

// updating reports whether -update was given (the flag is defined once
// for the package's tests).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// commandsGoldenDir is absolute: other tests of the package change
// directory.
var commandsGoldenDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "testdata", "commands")
}()
