package aggregator

import (
	"github.com/confed/confed/aggregator/strategy"

	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/health"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/manifest"
	"github.com/confed/confed/internal/offheap"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/seal/sealwire"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Options are run-time options that do not belong in the config file.
type Options struct {
	// Hooks replace hardware and network for verification (tests).
	Hooks provider.Hooks
	// Issuer, if set, replaces the TEE issuer (tests with fake hardware).
	Issuer tee.Issuer
	// InsecureSimulatedTEE runs without hardware protection (set by
	// --insecure-simulated-tee). Never in production.
	InsecureSimulatedTEE bool
	Logger               *slog.Logger
	Listener             net.Listener
	OnListen             func(net.Addr)
	// OnMetricsListen, if set, is called with the metrics listener's
	// address once it serves.
	OnMetricsListen func(net.Addr)
}

// Server is a running aggregator.
type Server struct {
	confedv1.UnimplementedAggregatorServer
	cfg        Config
	log        *slog.Logger
	federation string
	signer     *manifest.Signer
	claims     tee.Claims
	verifier   tee.Verifier
	issuer     tee.Issuer
	teeOpts    tee.Options
	hooks      provider.Hooks
	ctrl       confedv1.AggregatorControlClient
	fed        confedv1.FederationClient
	metrics    *aggMetrics // nil: not instrumented

	mu  sync.Mutex
	cur *roundState
	// tree is the round's role in an aggregation tree (tree.go).
	tree treeHolder

	// opt is the server optimiser, whose state carries over rounds; optBase
	// is the hash of the model it produced last.
	opt     strategy.Optimizer
	optCfg  strategy.Config
	optBase [32]byte

	// lastLayout is the sum layout of the last round opened.
	lastLayout sumLayout
}

// Run serves participants and follows the coordinator's tasks until ctx is
// cancelled.
func Run(ctx context.Context, cfg Config, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// Rounds keep the memory of their vectors for the next round's
	// (internal/offheap); it goes back to the system when the aggregator
	// stops.
	defer offheap.Trim()
	chk, stopProbe, err := health.Open(cfg.HealthListen, confedv1.Aggregator_ServiceDesc.ServiceName, "checking its own TEE evidence")
	if err != nil {
		return err
	}
	defer stopProbe()
	s, err := newServer(ctx, cfg, opts, log)
	if err != nil {
		return err
	}
	stopMetrics, err := s.instrument(cfg.Metrics, opts.OnMetricsListen)
	if err != nil {
		return err
	}
	defer stopMetrics()
	chk.SetReady(false, "no stream to the coordinator")
	serverTLS, err := pki.ServerTLS(pki.Files(cfg.TLS))
	if err != nil {
		return fmt.Errorf("aggregator TLS: %w", err)
	}
	conn, err := dial(cfg.Coordinator, pki.Files(cfg.TLS), append(s.metrics.dialOptions(), grpc.WithStreamInterceptor(readiness(chk)))...)
	if err != nil {
		return err
	}
	defer conn.Close()
	s.ctrl = confedv1.NewAggregatorControlClient(conn)
	s.fed = confedv1.NewFederationClient(conn)
	lis := opts.Listener
	if lis == nil {
		if lis, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
		}
	}
	lis = limitListener(lis, cfg.MaxConnections)
	creds, err := atls.NewServerCredentials(atls.Config{
		TLS: serverTLS, Context: atls.Context{Federation: s.federation},
		Issuer: s.issuer, BindingFunc: s.binding,
		// Participants present evidence when they have it; the round's
		// policy decides whether they must (checked in SubmitUpdate).
		Verifier:    roundVerifier{s},
		OnHandshake: s.logHandshake,
	})
	if err != nil {
		return fmt.Errorf("attested transport: %w", err)
	}
	srv := grpc.NewServer(append(append(s.metrics.serverOptions(), windowOptions(cfg.StreamWindow)...), grpc.Creds(creds),
		// MaxConnectionIdle frees the slot (max_connections) of a
		// connection that runs no stream.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second,
			MaxConnectionIdle: cfg.StreamIdleTimeout.Std()}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// gRPC's proto codec, except that SubmitUpdate's sealed chunks are
		// received into reused buffers and opened in place (receivePlain).
		grpc.ForceServerCodecV2(sealwire.Codec{}))...)
	confedv1.RegisterAggregatorServer(srv, s)
	confedv1.RegisterTreeAggregatorServer(srv, &treeService{s: s})
	confedv1.RegisterSecureAggregatorServer(srv, &secAggService{s: s})
	chk.Register(srv)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Info("aggregator serving", "addr", lis.Addr().String(), "federation", s.federation,
		"tee", s.claims.Kind, "insecure", s.claims.Insecure)
	if opts.OnListen != nil {
		opts.OnListen(lis.Addr())
	}
	go s.followCoordinator(ctx)
	select {
	case <-ctx.Done():
		srv.Stop()
		return nil
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	}
}

func newServer(ctx context.Context, cfg Config, opts Options, log *slog.Logger) (*Server, error) {
	id, err := pki.LocalIdentity(pki.Files(cfg.TLS))
	if err != nil {
		return nil, fmt.Errorf("aggregator identity: %w", err)
	}
	if id.Role != pki.RoleAggregator {
		return nil, fmt.Errorf("%s: certificate is for role %q, want %q", cfg.TLS.Cert, id.Role, pki.RoleAggregator)
	}
	policy := cfg.Attestation
	if policy.Kind() == tee.KindSimulated {
		log.Warn("INSECURE: running in the simulated TEE; updates have no hardware protection")
	}
	teeOpts := tee.Options{AllowInsecureSimulated: opts.InsecureSimulatedTEE}
	issuer := opts.Issuer
	if issuer == nil {
		var err error
		if issuer, err = provider.Issuer(policy.Kind(), teeOpts); err != nil {
			return nil, fmt.Errorf("aggregator TEE: %w", err)
		}
	}
	verifier, err := provider.Verifier(policy, teeOpts, opts.Hooks)
	if err != nil {
		return nil, fmt.Errorf("verifying earlier aggregators: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	rd := manifest.SigningKeyReportData(id.Federation, pub)
	ev, err := issuer.Issue(ctx, rd)
	if err != nil {
		return nil, fmt.Errorf("issuing evidence: %w", err)
	}
	claims, err := verifier.Verify(ctx, ev, rd)
	if err != nil {
		return nil, fmt.Errorf("checking own evidence: %w", err)
	}
	return &Server{cfg: cfg, log: log, federation: id.Federation, verifier: verifier, claims: claims, issuer: issuer,
		teeOpts: teeOpts, hooks: opts.Hooks,
		signer: &manifest.Signer{Key: priv, Evidence: ev}}, nil
}

// logHandshake records refused attested handshakes; successful ones are
// routine and logged at debug level.
func (s *Server) logHandshake(ev atls.Event) {
	if ev.Err != nil {
		s.log.Warn("attested handshake refused", logging.KeyAddr, fmt.Sprint(ev.Remote), logging.KeyReason, ev.Err)
		s.tree.handshakeRefused(ev.Err)
		return
	}
	s.log.Debug("attested handshake", logging.KeyAddr, fmt.Sprint(ev.Remote), logging.KeyPeer, ev.Info.PeerIdentity.String())
}

func dial(addr string, files pki.Files, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("coordinator address %q: %w", addr, err)
	}
	tlsCfg, err := pki.ClientTLSFor(files, host, pki.RoleCoordinator)
	if err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	return grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true})}, extra...)...)
}

// limitListener accepts at most n connections at once: Accept waits for
// one of them to close. Each connection can hold a flow-control window of
// update data, so this bounds that memory whatever the number of
// participants.
func limitListener(l net.Listener, n int) net.Listener {
	return &limitedListener{Listener: l, slots: make(chan struct{}, n)}
}

type limitedListener struct {
	net.Listener
	slots chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
