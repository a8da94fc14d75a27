package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/participant"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

const healthRounds = `federation: e2e
rounds: 1
model:
  kind: logistic_regression
  features: 13
participants:
  expected: [cleveland]
timing:
  join_timeout: 10m
tee:
  aggregator: simulated
`

// freeAddr returns a loopback address with a port that was free a moment
// ago, for daemons configured by address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l := listen(t)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// probeStatus asks a plaintext probe listener for a service's gRPC health,
// as the kubelet's grpc probe does.
func probeStatus(addr, service string) healthpb.HealthCheckResponse_ServingStatus {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return r.GetStatus()
}

// waitFor polls cond until it holds; the deadline only bounds a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpStatus(addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestHealthProbes runs the three daemons with probe listeners and follows
// their readiness: the coordinator once serving, the aggregator only while
// it holds its stream to the coordinator, the participant once joined. The
// coordinator also answers gRPC health on its own mutual-TLS port.
func TestHealthProbes(t *testing.T) {
	f := newFed(t, []heartdisease.Hospital{{Name: "cleveland", File: "cleveland.data"}}, healthRounds)
	coordHealth, aggHealth, partHealth := freeAddr(t), freeAddr(t), freeAddr(t)
	aggSvc, fedSvc := confedv1.Aggregator_ServiceDesc.ServiceName, confedv1.Federation_ServiceDesc.ServiceName

	coordCtx, stopCoord := context.WithCancel(context.Background())
	defer stopCoord()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()

	ccfg := f.coordinatorConfig()
	ccfg.HealthListen = coordHealth
	f.run(func() error {
		return coordinator.Run(coordCtx, ccfg, coordinator.Options{InsecureSimulatedTEE: true, Listener: f.coordLis,
			Logger: testLogger(t, "coordinator"), Tick: 20 * time.Millisecond})
	})
	waitFor(t, "the coordinator's readiness", func() bool { return probeStatus(coordHealth, fedSvc) == healthpb.HealthCheckResponse_SERVING })
	if got := probeStatus(coordHealth, ""); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("coordinator liveness = %v, want SERVING", got)
	}
	checkTLSHealth(t, f, fedSvc)

	acfg := aggregator.Default()
	acfg.Attestation = simulatedPolicy
	acfg.Listen, acfg.Coordinator, acfg.HealthListen = f.aggAddr, f.coordAddr, aggHealth
	acfg.TLS = f.issue(pki.RoleAggregator, "aggregator", "127.0.0.1")
	f.run(func() error {
		return aggregator.Run(ctx, acfg, aggregator.Options{InsecureSimulatedTEE: true, Listener: f.aggLis, Logger: testLogger(t, "aggregator")})
	})
	waitFor(t, "the aggregator's readiness", func() bool { return probeStatus(aggHealth, aggSvc) == healthpb.HealthCheckResponse_SERVING })
	if code := httpStatus(aggHealth, "/readyz"); code != http.StatusOK {
		t.Errorf("aggregator GET /readyz = %d, want 200", code)
	}

	pcfg := participant.Default()
	pcfg.AggregatorAttestation = simulatedPolicy
	pcfg.Coordinator, pcfg.HealthListen = f.coordAddr, partHealth
	pcfg.Data.Path = filepath.Join(dataDir, "cleveland.data")
	pcfg.TLS = f.issue(pki.RoleParticipant, "cleveland")
	f.run(func() error {
		return participant.Run(ctx, pcfg, participant.Options{InsecureSimulatedTEE: true, Logger: testLogger(t, "cleveland")})
	})
	waitFor(t, "the participant's readiness", func() bool { return httpStatus(partHealth, "/readyz") == http.StatusOK })
	if code := httpStatus(partHealth, "/healthz"); code != http.StatusOK {
		t.Errorf("participant GET /healthz = %d, want 200", code)
	}

	// Without its coordinator the aggregator is alive but not ready.
	stopCoord()
	waitFor(t, "the aggregator to report NOT_SERVING", func() bool {
		return probeStatus(aggHealth, aggSvc) == healthpb.HealthCheckResponse_NOT_SERVING
	})
	if got := probeStatus(aggHealth, ""); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("aggregator liveness without a coordinator = %v, want SERVING", got)
	}
	waitFor(t, "the participant to report not ready", func() bool { return httpStatus(partHealth, "/readyz") == http.StatusServiceUnavailable })
}

// checkTLSHealth asks the coordinator's own mutual-TLS port for gRPC
// health, as a federation member would.
func checkTLSHealth(t *testing.T, f *fed, service string) {
	t.Helper()
	files := f.issue(pki.RoleParticipant, "cleveland")
	host, _, _ := net.SplitHostPort(f.coordAddr)
	cfg, err := pki.ClientTLSFor(pki.Files(files), host, pki.RoleCoordinator)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(f.coordAddr, grpc.WithTransportCredentials(credentials.NewTLS(cfg.Clone())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health over mutual TLS: %v, %v; want SERVING", r.GetStatus(), err)
	}
}
