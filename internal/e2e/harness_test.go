package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant"
)

const federation = "e2e"

// simulatedPolicy accepts the INSECURE simulated TEE (the daemons also need
// InsecureSimulatedTEE).
var simulatedPolicy = provider.Policy{TEE: "simulated"}

// fed is a federation under test.
type fed struct {
	t            *testing.T
	dir          string
	ca           *pki.CA
	coordAddr    string
	aggAddr      string
	coordLis     net.Listener
	aggLis       net.Listener
	hospitals    []heartdisease.Hospital
	roundConfig  string
	wg           sync.WaitGroup
	errs         chan error
	participants chan error
	issued       map[string]yamlcfg.TLSFiles
}

func newFed(t *testing.T, hospitals []heartdisease.Hospital, roundYAML string) *fed {
	t.Helper()
	f := &fed{t: t, dir: t.TempDir(), hospitals: hospitals, errs: make(chan error, 16), participants: make(chan error, 16),
		issued: map[string]yamlcfg.TLSFiles{}}
	var err error
	f.ca, err = pki.InitCA(filepath.Join(f.dir, "ca"), federation, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.coordLis = listen(t)
	f.aggLis = listen(t)
	f.coordAddr, f.aggAddr = f.coordLis.Addr().String(), f.aggLis.Addr().String()
	f.roundConfig = filepath.Join(f.dir, "federation.yaml")
	if err := os.WriteFile(f.roundConfig, []byte(roundYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// issue returns the credentials of name, issuing them the first time.
func (f *fed) issue(role pki.Role, name string, hosts ...string) yamlcfg.TLSFiles {
	f.t.Helper()
	if files, ok := f.issued[name]; ok {
		return files
	}
	files, err := pki.IssueToDir(f.ca, pki.IssueRequest{
		Identity: pki.Identity{Federation: federation, Role: role, Name: name},
		Hosts:    hosts, Validity: time.Hour, Now: time.Now(),
	}, filepath.Join(f.dir, "pki", name))
	if err != nil {
		f.t.Fatal(err)
	}
	f.issued[name] = yamlcfg.TLSFiles(files)
	return f.issued[name]
}

func (f *fed) coordinatorConfig() coordinator.Config {
	c := coordinator.Default()
	c.Listen = f.coordAddr
	c.Database = filepath.Join(f.dir, "coordinator.db")
	c.RoundConfig = f.roundConfig
	c.AggregatorAddress = f.aggAddr
	c.TLS = f.issue(pki.RoleCoordinator, "coordinator", "127.0.0.1")
	return c
}

// startCoordinator runs a coordinator until ctx ends.
func (f *fed) startCoordinator(ctx context.Context, lis net.Listener) {
	cfg := f.coordinatorConfig()
	f.run(func() error {
		return coordinator.Run(ctx, cfg, coordinator.Options{InsecureSimulatedTEE: true, Listener: lis,
			Logger: testLogger(f.t, "coordinator"), Tick: 20 * time.Millisecond})
	})
}

func (f *fed) startAggregator(ctx context.Context) {
	cfg := aggregator.Default()
	cfg.Attestation = simulatedPolicy
	cfg.Listen = f.aggAddr
	cfg.Coordinator = f.coordAddr
	cfg.TLS = f.issue(pki.RoleAggregator, "aggregator", "127.0.0.1")
	f.run(func() error {
		return aggregator.Run(ctx, cfg, aggregator.Options{InsecureSimulatedTEE: true, Listener: f.aggLis,
			Logger: testLogger(f.t, "aggregator")})
	})
}

func (f *fed) startParticipants(ctx context.Context) {
	for _, h := range f.hospitals {
		cfg := participant.Default()
		cfg.AggregatorAttestation = simulatedPolicy
		cfg.Coordinator = f.coordAddr
		cfg.Data.Path = filepath.Join(dataDir, h.File)
		cfg.TLS = f.issue(pki.RoleParticipant, h.Name)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			err := participant.Run(ctx, cfg, participant.Options{InsecureSimulatedTEE: true, ExitWhenFinished: true,
				Logger: testLogger(f.t, h.Name)})
			f.participants <- err
		}()
	}
}

func (f *fed) run(fn func() error) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if err := fn(); err != nil {
			f.errs <- err
		}
	}()
}

// waitParticipants waits until every participant has exited.
func (f *fed) waitParticipants(timeout time.Duration) {
	f.t.Helper()
	deadline := time.After(timeout)
	for range f.hospitals {
		select {
		case err := <-f.participants:
			if err != nil {
				f.t.Fatalf("participant: %v", err)
			}
		case err := <-f.errs:
			f.t.Fatalf("daemon failed: %v", err)
		case <-deadline:
			f.t.Fatalf("federation did not finish within %s", timeout)
		}
	}
}

// dataDir is the project's copy of the UCI Heart Disease data.
var dataDir = filepath.Join("..", "..", "data", "heart-disease")

// testLogger sends a daemon's logs to the test log.
func testLogger(t *testing.T, name string) *slog.Logger {
	l, err := logging.New(testWriter{t: t, prefix: name}, "info", "text", name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // logging after the test ended
	w.t.Log(strings.TrimSpace(fmt.Sprintf("%s: %s", w.prefix, p)))
	return len(p), nil
}
