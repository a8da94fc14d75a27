package coordinator

import (
	"go.yaml.in/yaml/v3"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/confed/confed/coordinator/dashboard"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/health"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Options are the coordinator's run-time options that do not belong in its
// configuration file.
type Options struct {
	// InsecureSimulatedTEE accepts an aggregator running in the simulated
	// TEE (set by --insecure-simulated-tee). Never set it in production.
	InsecureSimulatedTEE bool
	Logger               *slog.Logger
	// Listener, if set, is used instead of listening on Config.Listen.
	Listener net.Listener
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Tick is how often deadlines are checked (default 100ms).
	Tick time.Duration
	// Hooks replace hardware and network for verification (tests).
	Hooks provider.Hooks
	// OnListen, if set, is called with the bound address once serving.
	OnListen func(addr net.Addr)
	// OnMetricsListen, if set, is called with the metrics listener's
	// address once it serves.
	OnMetricsListen func(addr net.Addr)
	// DashboardListener, if set, is used instead of listening on
	// Config.Dashboard.Listen (which must still be configured).
	DashboardListener net.Listener
	// OnDashboard, if set, is called with the dashboard's bound address.
	OnDashboard func(addr net.Addr)
}

// Run serves the coordinator until ctx is cancelled. The configuration is
// validated, the round configuration loaded and the database opened before
// any listener starts.
func Run(ctx context.Context, cfg Config, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	rc, err := roundconfig.Load(cfg.RoundConfig)
	if err != nil {
		return err
	}
	if rc.TEE.Participants == "simulated" && !opts.InsecureSimulatedTEE {
		return fmt.Errorf("%s: tee.participants is \"simulated\", which gives no protection: start the coordinator with --insecure-simulated-tee to accept it", cfg.RoundConfig)
	}
	if rc.TEE.Aggregator == "simulated" && !opts.InsecureSimulatedTEE {
		return fmt.Errorf("%s: tee.aggregator is \"simulated\", which gives no protection: start the coordinator with --insecure-simulated-tee to accept it", cfg.RoundConfig)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	chk, stopProbe, err := health.Open(cfg.HealthListen, confedv1.Federation_ServiceDesc.ServiceName, "starting")
	if err != nil {
		return err
	}
	defer stopProbe()
	if opts.InsecureSimulatedTEE {
		log.Warn("INSECURE: accepting an aggregator in the simulated TEE; updates are not protected by hardware")
	}
	verifier, err := provider.Verifier(rc.TEE.AggregatorPolicy(), tee.Options{AllowInsecureSimulated: opts.InsecureSimulatedTEE}, opts.Hooks)
	if err != nil {
		return fmt.Errorf("aggregator attestation: %w", err)
	}
	initial, err := model.Init(model.InitSpec{Kind: rc.Model.Kind, Features: rc.Model.Features, Init: rc.Model.Init, Seed: rc.Model.Seed})
	if err != nil {
		return fmt.Errorf("%s: model: %w", cfg.RoundConfig, err)
	}
	tlsCfg, err := pki.ServerTLS(pki.Files(cfg.TLS))
	if err != nil {
		return fmt.Errorf("coordinator TLS: %w", err)
	}
	st, err := store.Open(cfg.Database, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkFederation(st, rc.Federation); err != nil {
		return err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	e := newEngine(log, now, rc, st, verifier, cfg.AggregatorAddress)
	e.spec = initial.Spec()
	if rc.TEE.ParticipantsAttest() {
		if e.participantPolicy, err = yaml.Marshal(rc.TEE.ParticipantsPolicy()); err != nil {
			return fmt.Errorf("encoding the participant policy: %w", err)
		}
	}
	if err := e.recover(); err != nil {
		return err
	}
	e.instrument(newCoordMetrics(rc.Participants.Expected))
	stopMetrics, err := startMetrics(cfg.Metrics, e.metrics, opts)
	if err != nil {
		return err
	}
	defer stopMetrics()
	stopDashboard, err := startDashboard(ctx, cfg, opts, e, log)
	if err != nil {
		return err
	}
	defer stopDashboard()
	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
		}
	}
	srv := newGRPCServer(credentials.NewTLS(tlsCfg), e)
	chk.Register(srv)
	chk.SetReady(true, "")
	return serve(ctx, srv, lis, e, log, opts)
}

func newGRPCServer(tlsCfg credentials.TransportCredentials, e *engine) *grpc.Server {
	srv := grpc.NewServer(append(e.metrics.serverOptions(),
		grpc.Creds(tlsCfg),
		// Stop waits for handlers, so the store is closed only after the
		// last one has returned.
		grpc.WaitForHandlers(true),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)...)
	confedv1.RegisterFederationServer(srv, &federationService{e: e})
	confedv1.RegisterAggregatorControlServer(srv, &controlService{e: e})
	confedv1.RegisterOperatorServer(srv, &operatorService{e: e})
	return srv
}

func serve(ctx context.Context, srv *grpc.Server, lis net.Listener, e *engine, log *slog.Logger, opts Options) error {
	tick := opts.Tick
	if tick == 0 {
		tick = 100 * time.Millisecond
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Info("coordinator serving", "addr", lis.Addr().String(), "federation", e.rc.Federation)
	if opts.OnListen != nil {
		opts.OnListen(lis.Addr())
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			e.beginShutdown()
			stopGracefully(srv, 5*time.Second)
			return nil
		case err := <-errc:
			if errors.Is(err, grpc.ErrServerStopped) {
				return nil
			}
			return fmt.Errorf("serving: %w", err)
		case <-t.C:
			e.tick()
		}
	}
}

// stopGracefully lets in-flight calls finish for up to d, then cuts them.
func stopGracefully(srv *grpc.Server, d time.Duration) {
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		srv.Stop()
	}
}

// checkFederation refuses a database that belongs to another federation.
func checkFederation(st *store.Store, federation string) error {
	v, err := st.Meta("federation")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if v == nil {
		return st.PutMeta("federation", []byte(federation))
	}
	if string(v) != federation {
		return fmt.Errorf("database belongs to federation %q, the round configuration is for %q: use another database file", v, federation)
	}
	return nil
}

// startDashboard serves the operator dashboard if the configuration has a
// dashboard section; the returned function stops it and waits.
func startDashboard(ctx context.Context, cfg Config, opts Options, e *engine, log *slog.Logger) (func(), error) {
	d := cfg.Dashboard
	if d == nil {
		return func() {}, nil
	}
	tok, generated, err := dashboard.LoadToken(*d)
	if err != nil {
		return nil, err
	}
	if generated != "" {
		log.Warn("dashboard token generated: give it to the operators and keep the file safe", "file", d.TokenFile)
	}
	tlsCfg, err := dashboard.TLSConfig(pki.Files(cfg.TLS))
	if err != nil {
		return nil, fmt.Errorf("dashboard TLS: %w", err)
	}
	id, err := pki.LocalIdentity(pki.Files(cfg.TLS))
	if err != nil {
		return nil, fmt.Errorf("dashboard TLS: %w", err)
	}
	lis := opts.DashboardListener
	if lis == nil {
		if lis, err = net.Listen("tcp", d.Listen); err != nil {
			return nil, fmt.Errorf("dashboard: listening on %s: %w", d.Listen, err)
		}
	}
	h := dashboard.New(dashboardSource{e: e}, tok, id.Federation, log.With("component", "dashboard"))
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := dashboard.Serve(dctx, lis, tlsCfg, h, log); err != nil {
			log.Error("dashboard stopped", "err", err)
		}
	}()
	log.Info("dashboard serving", "addr", "https://"+lis.Addr().String()+"/", "token", tok.Set(), "client_certificates", "operator role")
	if opts.OnDashboard != nil {
		opts.OnDashboard(lis.Addr())
	}
	return func() { cancel(); <-done }, nil
}
