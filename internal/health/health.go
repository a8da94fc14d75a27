// Package health tells probes whether a daemon is alive and ready.
//
// Each daemon keeps one Checker. The Checker answers the gRPC health
// checking protocol (grpc.health.v1): the overall service "" is SERVING
// while the process runs (liveness), and the daemon's own service name is
// SERVING only while the daemon can do its job (readiness: the aggregator
// has its TEE evidence and a stream to the coordinator, the coordinator is
// serving, a participant has joined). Register adds it to the daemon's own
// (mutual-TLS) gRPC server, for federation members.
//
// Kubernetes' probes and systemd hosts cannot present a federation
// certificate, so Start also serves the same status on a separate plaintext
// probe listener: gRPC health over unencrypted HTTP/2 (kubelet grpc probes)
// and GET /healthz and /readyz over HTTP/1.1 or HTTP/2 (httpGet probes,
// curl). The listener carries nothing but these statuses.
package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/confed/confed/internal/yamlcfg"
)

// Checker is a daemon's liveness and readiness.
type Checker struct {
	service string
	srv     *health.Server

	mu     sync.Mutex
	ready  bool
	reason string
}

// New returns a Checker whose readiness is reported under service (such as
// "confed.v1.Aggregator"); it starts not ready, for reason.
func New(service, reason string) *Checker {
	c := &Checker{service: service, srv: health.NewServer(), reason: reason}
	c.srv.SetServingStatus(service, healthpb.HealthCheckResponse_NOT_SERVING)
	return c
}

// Service is the name under which readiness is reported.
func (c *Checker) Service() string { return c.service }

// SetReady records readiness; reason says why the daemon is not ready.
func (c *Checker) SetReady(ready bool, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ready, c.reason = ready, reason
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ready {
		st = healthpb.HealthCheckResponse_SERVING
	}
	c.srv.SetServingStatus(c.service, st)
}

// Ready reports readiness and, when not ready, the reason.
func (c *Checker) Ready() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready, c.reason
}

// Register adds the health service to s.
func (c *Checker) Register(s grpc.ServiceRegistrar) { healthpb.RegisterHealthServer(s, c.srv) }

// Shutdown reports every service NOT_SERVING (the daemon is stopping) and
// refuses later changes.
func (c *Checker) Shutdown() {
	c.mu.Lock()
	c.ready, c.reason = false, "shutting down"
	c.mu.Unlock()
	c.srv.Shutdown()
}

func (c *Checker) alive() bool {
	r, err := c.srv.Check(context.Background(), &healthpb.HealthCheckRequest{})
	return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// Probe is a running plaintext probe listener.
type Probe struct {
	lis  net.Listener
	http *http.Server
	grpc *grpc.Server
	done chan struct{}
}

// Start serves c on addr (host:port; port 0 picks one) until Close.
func Start(addr string, c *Checker) (*Probe, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health listener on %s: %w", addr, err)
	}
	return Serve(lis, c), nil
}

// Serve serves c on lis until Close.
func Serve(lis net.Listener, c *Checker) *Probe {
	g := grpc.NewServer()
	c.Register(g)
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	p := &Probe{lis: lis, grpc: g, done: make(chan struct{})}
	p.http = &http.Server{
		Handler:           handler(c, g),
		Protocols:         &protos,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
	}
	go func() {
		defer close(p.done)
		// Serve returns ErrServerClosed on Close; any other error means the
		// listener broke, and probes then fail, which is what they are for.
		_ = p.http.Serve(lis)
	}()
	return p
}

// Addr is the address the probe listener is bound to.
func (p *Probe) Addr() net.Addr { return p.lis.Addr() }

// Close stops the probe listener.
func (p *Probe) Close() error {
	err := p.http.Close()
	p.grpc.Stop()
	<-p.done
	return err
}

func handler(c *Checker, g *grpc.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			g.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch r.URL.Path {
		case "/healthz":
			if !c.alive() {
				http.Error(w, "shutting down", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		case "/readyz":
			if ok, reason := c.Ready(); !ok {
				http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ready")
		default:
			http.NotFound(w, r)
		}
	})
}

// CheckListen validates an optional probe listener address read from a
// configuration file at key: empty (off) or a host:port to listen on.
func CheckListen(l *yamlcfg.Locator, key, addr string) error {
	if addr == "" {
		return nil
	}
	return yamlcfg.CheckAddress(l, key, addr, true)
}

// Open returns a Checker for service, not ready for reason, served on a
// probe listener at addr when addr is set. stop reports the daemon as
// shutting down and closes the listener.
func Open(addr, service, reason string) (c *Checker, stop func(), err error) {
	c = New(service, reason)
	if addr == "" {
		return c, c.Shutdown, nil
	}
	p, err := Start(addr, c)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { c.Shutdown(); p.Close() }, nil
}
