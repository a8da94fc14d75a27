package health

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/confed/confed/internal/yamlcfg"
)

const svc = "confed.v1.Test"

func start(t *testing.T) (*Checker, *Probe) {
	t.Helper()
	c := New(svc, "starting")
	p, err := Start("127.0.0.1:0", c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return c, p
}

func grpcStatus(t *testing.T, p *Probe, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	conn, err := grpc.NewClient(p.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("Check(%q): %v", service, err)
	}
	return r.GetStatus()
}

func get(t *testing.T, p *Probe, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.Addr().String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestGRPCProbeFollowsReadiness(t *testing.T) {
	c, p := start(t)
	if got := grpcStatus(t, p, ""); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("liveness = %v, want SERVING", got)
	}
	if got := grpcStatus(t, p, svc); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("readiness before SetReady = %v, want NOT_SERVING", got)
	}
	c.SetReady(true, "")
	if got := grpcStatus(t, p, svc); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("readiness after SetReady(true) = %v, want SERVING", got)
	}
	c.SetReady(false, "coordinator lost")
	if got := grpcStatus(t, p, svc); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("readiness after SetReady(false) = %v, want NOT_SERVING", got)
	}
	c.Shutdown()
	if got := grpcStatus(t, p, ""); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("liveness after Shutdown = %v, want NOT_SERVING", got)
	}
}

func TestHTTPProbes(t *testing.T) {
	c, p := start(t)
	tests := []struct {
		name, method, path string
		ready              bool
		wantCode           int
		wantBody           string
	}{
		{"live", "GET", "/healthz", false, 200, "ok"},
		{"not ready says why", "GET", "/readyz", false, 503, "not ready: starting"},
		{"ready", "GET", "/readyz", true, 200, "ready"},
		{"HEAD", "HEAD", "/healthz", true, 200, ""},
		{"unknown path", "GET", "/metrics", true, 404, "404 page not found"},
		{"POST refused", "POST", "/healthz", true, 405, "method not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.SetReady(tt.ready, "starting")
			code, body := get(t, p, tt.method, tt.path)
			if code != tt.wantCode || body != tt.wantBody {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
	c.Shutdown()
	if code, _ := get(t, p, "GET", "/healthz"); code != 503 {
		t.Errorf("/healthz after Shutdown = %d, want 503", code)
	}
}

func TestStartRefusesBadAddress(t *testing.T) {
	if _, err := Start("127.0.0.1:notaport", New(svc, "x")); err == nil || !strings.Contains(err.Error(), "health listener on 127.0.0.1:notaport") {
		t.Fatalf("Start with a bad address: err = %v, want one naming the address", err)
	}
}

func TestRegisterOnDaemonServer(t *testing.T) {
	c := New(svc, "starting")
	s := grpc.NewServer()
	c.Register(s)
	if _, ok := s.GetServiceInfo()[healthpb.Health_ServiceDesc.ServiceName]; !ok {
		t.Fatal("health service not registered")
	}
}

func TestCheckListen(t *testing.T) {
	for _, tt := range []struct{ value, wantErr string }{
		{"", ""},
		{"127.0.0.1:8081", ""},
		{"0.0.0.0:0", ""},
		{":8081", ""},
		{"8081", "cfg.yaml:1: health_listen: expected host:port"},
		{"127.0.0.1:99999", "port must be a number from 0 to 65535"},
	} {
		t.Run(tt.value, func(t *testing.T) {
			var c struct {
				HealthListen string `yaml:"health_listen"`
			}
			loc, err := yamlcfg.Decode("cfg.yaml", []byte("health_listen: \""+tt.value+"\"\n"), &c)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckListen(loc, "health_listen", c.HealthListen)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("CheckListen(%q) = %v, want nil", tt.value, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("CheckListen(%q) = %v, want an error containing %q", tt.value, err, tt.wantErr)
			}
		})
	}
}
