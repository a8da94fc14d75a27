package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/metrics"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/participant"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// metricsRounds expects a fourth participant, rogue, driven by the test:
// round 1 closes at its deadline with the three hospitals (rogue's updates
// are refused), round 2 as soon as rogue's valid update is included.
var metricsRounds = roundYAML(roundOpts{rounds: 2, expected: []string{"cleveland", "hungary", "long-beach-va", "rogue"}, min: 3, roundDeadline: "5s"})

// metricsAddrs collects the metrics listeners' addresses by daemon.
type metricsAddrs struct {
	mu    sync.Mutex
	addrs map[string]string
}

func (m *metricsAddrs) on(name string) func(net.Addr) {
	return func(a net.Addr) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.addrs[name] = a.String()
	}
}

func (m *metricsAddrs) get(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addrs[name]
}

// TestMetricsFederation runs a federation whose three daemons all serve
// /metrics (configured with metrics.listen), with a hand-driven participant
// whose updates are refused, scrapes every daemon over HTTP, parses the
// text strictly, and checks that the counters moved as the federation did.
// Once the daemons stop, their metrics listeners are closed too.
func TestMetricsFederation(t *testing.T) {
	t.Parallel()
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, hs, metricsRounds)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	ma := &metricsAddrs{addrs: map[string]string{}}

	ccfg := f.coordinatorConfig()
	ccfg.Metrics.Listen = "127.0.0.1:0"
	f.run(func() error {
		return coordinator.Run(ctx, ccfg, coordinator.Options{InsecureSimulatedTEE: true, Listener: f.coordLis,
			Logger: testLogger(t, "coordinator"), Tick: 20 * time.Millisecond, OnMetricsListen: ma.on("coordinator")})
	})
	acfg := aggregator.Default()
	acfg.Attestation = simulatedPolicy
	acfg.Listen, acfg.Coordinator = f.aggAddr, f.coordAddr
	acfg.TLS = f.issue(pki.RoleAggregator, "aggregator", "127.0.0.1")
	acfg.Metrics.Listen = "127.0.0.1:0"
	f.run(func() error {
		return aggregator.Run(ctx, acfg, aggregator.Options{InsecureSimulatedTEE: true, Listener: f.aggLis,
			Logger: testLogger(t, "aggregator"), OnMetricsListen: ma.on("aggregator")})
	})
	fc, tasks := rogueTasks(ctx, t, f)
	for _, h := range hs {
		pcfg := participant.Default()
		pcfg.AggregatorAttestation = simulatedPolicy
		pcfg.Coordinator = f.coordAddr
		pcfg.Data.Path = filepath.Join(dataDir, h.File)
		pcfg.TLS = f.issue(pki.RoleParticipant, h.Name)
		pcfg.Metrics.Listen = "127.0.0.1:0"
		f.run(func() error {
			// The daemons keep running after the last round, so that their
			// metrics can be scraped.
			return participant.Run(ctx, pcfg, participant.Options{InsecureSimulatedTEE: true,
				Logger: testLogger(t, h.Name), OnMetricsListen: ma.on(h.Name)})
		})
	}
	driveRogue(ctx, t, f, fc, tasks)

	eventually(t, 90*time.Second, "coordinator publishes 2 rounds", func() (bool, string) {
		exp, err := scrape(ma.get("coordinator"))
		if err != nil {
			return false, err.Error()
		}
		v, _ := exp.Value("confed_coordinator_rounds_total", "outcome", "published")
		return v == 2, fmt.Sprintf("published=%v", v)
	})
	for _, h := range hs {
		eventually(t, 30*time.Second, h.Name+" records 2 accepted rounds", func() (bool, string) {
			exp, err := scrape(ma.get(h.Name))
			if err != nil {
				return false, err.Error()
			}
			v, _ := exp.Value("confed_participant_rounds_total", "outcome", "accepted")
			return v == 2, fmt.Sprintf("accepted=%v", v)
		})
	}
	t.Run("coordinator", func(t *testing.T) { checkCoordinatorMetrics(t, mustScrape(t, ma.get("coordinator")), hs) })
	t.Run("aggregator", func(t *testing.T) { checkAggregatorMetrics(t, mustScrape(t, ma.get("aggregator")), hs) })
	for _, h := range hs {
		t.Run(h.Name, func(t *testing.T) { checkParticipantMetrics(t, mustScrape(t, ma.get(h.Name))) })
	}

	cancel()
	f.wg.Wait()
	for _, name := range []string{"coordinator", "aggregator", hs[0].Name} {
		if _, err := scrape(ma.get(name)); err == nil {
			t.Errorf("%s: /metrics still answers after the daemon stopped", name)
		}
	}
}

// rogueTasks joins as rogue and returns its task stream.
func rogueTasks(ctx context.Context, t *testing.T, f *fed) (confedv1.FederationClient, <-chan *confedv1.Task) {
	t.Helper()
	fc := confedv1.NewFederationClient(f.dialAs(t, pki.RoleParticipant, "rogue", f.coordAddr, pki.RoleCoordinator))
	var watch confedv1.Federation_WatchTasksClient
	eventually(t, 30*time.Second, "rogue joins", func() (bool, string) {
		jctx, jcancel := context.WithTimeout(ctx, 5*time.Second)
		defer jcancel()
		if _, err := fc.Join(jctx, &confedv1.JoinRequest{SoftwareVersion: "rogue/0"}); err != nil {
			return false, err.Error()
		}
		var err error
		watch, err = fc.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
		return err == nil, fmt.Sprint(err)
	})
	tasks := make(chan *confedv1.Task, 64)
	go func() {
		defer close(tasks)
		for {
			tk, err := watch.Recv()
			if err != nil {
				return
			}
			tasks <- tk
		}
	}()
	return fc, tasks
}

// driveRogue makes rogue, in round 1, report two problems and submit a
// NaN update (refused after admission: non_finite) and one trained from
// the wrong model (refused on its header: base_model_mismatch); in round 2
// it submits a valid update, which is included.
func driveRogue(ctx context.Context, t *testing.T, f *fed, fc confedv1.FederationClient, tasks <-chan *confedv1.Task) {
	t.Helper()
	spec := lrSpec(t)
	valid := filled(t, spec, 0.01)
	nan := valid.Clone()
	w, _ := nan.Lookup("weight")
	w.Data[0] = float32(math.NaN())
	for r := uint64(1); r <= 2; r++ {
		task := waitTrain(t, f, tasks, r)
		global, err := fetchModel(ctx, fc, task.GetGlobalRound(), task.GetGlobalModelSha256(), spec)
		if err != nil {
			t.Fatalf("rogue cannot download the global model of round %d: %v", task.GetGlobalRound(), err)
		}
		// The attested connection binds the round's key: one per round.
		agg := confedv1.NewAggregatorClient(f.dialAs(t, pki.RoleParticipant, "rogue", task.GetAggregatorAddress(), pki.RoleAggregator))
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		if r == 1 {
			for _, kind := range []string{"aggregator_refused", "an unbounded kind \"!"} {
				if _, err := fc.ReportProblem(sctx, &confedv1.ProblemReport{Round: 1, Kind: kind, Reason: "test"}); err != nil {
					t.Fatalf("reporting a problem: %v", err)
				}
			}
			if resp, err := honestUpload(1, global.SHA256[:], nan, 64).send(sctx, agg, "rogue"); err == nil && resp.GetAccepted() {
				t.Fatal("NaN update accepted")
			}
			wrongBase := make([]byte, 32)
			if resp, err := honestUpload(1, wrongBase, valid, 64).send(sctx, agg, "rogue"); err == nil && resp.GetAccepted() {
				t.Fatal("update from the wrong base model accepted")
			}
		} else {
			resp, err := honestUpload(2, global.SHA256[:], valid, 64).send(sctx, agg, "rogue")
			if err != nil || !resp.GetAccepted() {
				t.Fatalf("rogue's valid update in round 2: %v %v", resp, err)
			}
		}
		scancel()
	}
}

func waitTrain(t *testing.T, f *fed, tasks <-chan *confedv1.Task, r uint64) *confedv1.Task {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case tk, ok := <-tasks:
			if !ok {
				t.Fatalf("rogue's task stream ended before round %d", r)
			}
			if tk.GetKind() == confedv1.TaskKind_TASK_KIND_TRAIN && tk.GetRound() == r {
				return tk
			}
		case err := <-f.errs:
			t.Fatalf("daemon failed: %v", err)
		case <-timeout:
			t.Fatalf("no TRAIN task for round %d within 60s", r)
		}
	}
}

// scrape fetches and strictly parses a daemon's /metrics.
func scrape(addr string) (*metrics.Exposition, error) {
	if addr == "" {
		return nil, fmt.Errorf("the daemon has not reported its metrics address")
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + metrics.Path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != metrics.ContentType {
		return nil, fmt.Errorf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return metrics.Parse(body)
}

func mustScrape(t *testing.T, addr string) *metrics.Exposition {
	t.Helper()
	exp, err := scrape(addr)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// want is one expectation on a sample: its value must be exactly eq, or,
// with atLeast, at least eq.
type want struct {
	name    string
	labels  []string
	eq      float64
	atLeast bool
}

func checkSamples(t *testing.T, exp *metrics.Exposition, wants []want) {
	t.Helper()
	for _, w := range wants {
		v, ok := exp.Value(w.name, w.labels...)
		switch {
		case !ok:
			t.Errorf("%s%v: no such sample", w.name, w.labels)
		case w.atLeast && v < w.eq:
			t.Errorf("%s%v = %v, want at least %v", w.name, w.labels, v, w.eq)
		case !w.atLeast && v != w.eq:
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, v, w.eq)
		}
	}
}

func checkCoordinatorMetrics(t *testing.T, exp *metrics.Exposition, hs []heartdisease.Hospital) {
	const p = "confed_coordinator_"
	ws := []want{
		{name: p + "rounds_total", labels: []string{"outcome", "published"}, eq: 2},
		{name: p + "rounds_total", labels: []string{"outcome", "failed"}, eq: 0},
		{name: p + "round_duration_seconds_count", labels: []string{"outcome", "published"}, eq: 2},
		{name: p + "current_round", eq: 2},
		{name: p + "submissions_included_total", labels: []string{"participant", "rogue"}, eq: 1},
		{name: p + "submissions_refused_total", labels: []string{"stage", "validation", "reason", "non_finite"}, eq: 1},
		{name: p + "problem_reports_total", labels: []string{"kind", "aggregator_refused"}, eq: 1},
		{name: p + "problem_reports_total", labels: []string{"kind", "other"}, eq: 1},
		{name: p + "participants_connected", eq: 4},
		{name: p + "aggregator_connected", eq: 1},
		// 3 hospitals and the aggregator in each of 2 rounds, and rogue.
		{name: p + "model_downloads_total", labels: []string{"api", "federation", "result", "ok"}, eq: 8, atLeast: true},
		{name: p + "attestation_verifications_total", labels: []string{"peer", "aggregator", "tee", tee.KindSimulated, "result", "ok"}, eq: 1, atLeast: true},
		{name: p + "grpc_received_bytes_total", labels: []string{"method", "/confed.v1.AggregatorControl/PublishAggregate"}, eq: 1, atLeast: true},
		{name: p + "grpc_sent_bytes_total", labels: []string{"method", "/confed.v1.Federation/DownloadModel"}, eq: 1, atLeast: true},
	}
	for _, h := range hs {
		ws = append(ws, want{name: p + "submissions_included_total", labels: []string{"participant", h.Name}, eq: 2})
	}
	checkSamples(t, exp, ws)
}

func checkAggregatorMetrics(t *testing.T, exp *metrics.Exposition, hs []heartdisease.Hospital) {
	const p = "confed_aggregator_"
	ws := []want{
		{name: p + "rounds_total", labels: []string{"outcome", "published"}, eq: 2},
		{name: p + "rounds_total", labels: []string{"outcome", "failed"}, eq: 0},
		{name: p + "round_duration_seconds_count", labels: []string{"outcome", "published"}, eq: 2},
		{name: p + "current_round", eq: 2},
		{name: p + "submissions_accepted_total", labels: []string{"participant", "rogue"}, eq: 1},
		{name: p + "submissions_refused_total", labels: []string{"reason", "non_finite"}, eq: 1},
		{name: p + "submissions_refused_total", labels: []string{"reason", "base_model_mismatch"}, eq: 1},
		{name: p + "submissions_refused_total", labels: []string{"reason", "size_mismatch"}, eq: 0},
		{name: p + "submission_duration_seconds_count", labels: []string{"outcome", "accepted"}, eq: 7},
		{name: p + "submission_duration_seconds_count", labels: []string{"outcome", "refused"}, eq: 1},
		{name: p + "submissions_in_flight", eq: 0},
		{name: p + "attestation_verifications_total", labels: []string{"peer", "aggregator", "tee", tee.KindSimulated, "result", "ok"}, eq: 2, atLeast: true},
		{name: p + "grpc_received_bytes_total", labels: []string{"method", "/confed.v1.Aggregator/SubmitUpdate"}, eq: 1, atLeast: true},
		{name: p + "grpc_sent_bytes_total", labels: []string{"method", "/confed.v1.AggregatorControl/PublishAggregate"}, eq: 1, atLeast: true},
	}
	for _, h := range hs {
		ws = append(ws, want{name: p + "submissions_accepted_total", labels: []string{"participant", h.Name}, eq: 2})
	}
	checkSamples(t, exp, ws)
}

func checkParticipantMetrics(t *testing.T, exp *metrics.Exposition) {
	const p = "confed_participant_"
	checkSamples(t, exp, []want{
		{name: p + "rounds_total", labels: []string{"outcome", "accepted"}, eq: 2},
		{name: p + "rounds_total", labels: []string{"outcome", "failed"}, eq: 0},
		{name: p + "rounds_trained_total", eq: 2},
		{name: p + "training_duration_seconds_count", eq: 2},
		{name: p + "updates_sent_total", eq: 2},
		{name: p + "update_bytes_sent_total", eq: 1, atLeast: true},
		{name: p + "model_downloads_total", labels: []string{"result", "ok"}, eq: 2},
		{name: p + "last_accepted_round", eq: 2},
		{name: p + "connected", eq: 1},
		// Each round: the attested handshake and the global model's manifest.
		{name: p + "attestation_verifications_total", labels: []string{"peer", "aggregator", "tee", tee.KindSimulated, "result", "ok"}, eq: 4, atLeast: true},
		{name: p + "grpc_received_bytes_total", labels: []string{"method", "/confed.v1.Federation/DownloadModel"}, eq: 1, atLeast: true},
	})
}
