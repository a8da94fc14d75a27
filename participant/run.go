package participant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/internal/health"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/version"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Options are run-time options that do not belong in the config file.
type Options struct {
	// InsecureSimulatedTEE accepts models signed by an aggregator in the
	// simulated TEE (set by --insecure-simulated-tee).
	InsecureSimulatedTEE bool
	// Hooks replace hardware and network for verification (tests).
	Hooks provider.Hooks
	// Issuer, if set, replaces the TEE issuer of attest_as (tests with fake
	// hardware).
	Issuer tee.Issuer
	// ExitWhenFinished returns from Run once the federation has finished.
	ExitWhenFinished bool
	Logger           *slog.Logger
	// OnMetricsListen, if set, is called with the metrics listener's
	// address once it serves.
	OnMetricsListen func(net.Addr)
}

// daemon is a running participant.
type daemon struct {
	cfg      Config
	opts     Options
	log      *slog.Logger
	id       pki.Identity
	verifier tee.Verifier
	// issuer proves this participant's TEE when a round requires it; nil
	// when attest_as is none.
	issuer tee.Issuer
	// trainSet and testSet hold raw (unstandardised) features.
	trainSet heartdisease.Dataset
	testSet  heartdisease.Dataset
	fed      confedv1.FederationClient
	lastDone uint64 // last round this daemon submitted to
	// health is ready while the daemon follows the coordinator's tasks.
	health  *health.Checker
	metrics *partMetrics // nil: not instrumented
}

// errFinished ends Run when the federation has finished.
var errFinished = errors.New("federation finished")

// Run follows the coordinator's tasks until ctx is cancelled (or, with
// ExitWhenFinished, until the federation finishes), reconnecting with
// exponential backoff.
func Run(ctx context.Context, cfg Config, opts Options) error {
	chk, stopProbe, err := health.Open(cfg.HealthListen, confedv1.Federation_ServiceDesc.ServiceName, "not joined")
	if err != nil {
		return err
	}
	defer stopProbe()
	d, err := newDaemon(cfg, opts)
	if err != nil {
		return err
	}
	d.health = chk
	stopMetrics, err := d.instrument(opts.OnMetricsListen)
	if err != nil {
		return err
	}
	defer stopMetrics()
	conn, err := dial(cfg.Coordinator, pki.Files(cfg.TLS), pki.RoleCoordinator, d.metrics.dialOptions()...)
	if err != nil {
		return err
	}
	defer conn.Close()
	d.fed = confedv1.NewFederationClient(conn)
	backoff := time.Duration(cfg.Reconnect.Initial)
	for {
		connected, err := d.session(ctx)
		d.health.SetReady(false, "connection to the coordinator lost")
		if errors.Is(err, errFinished) {
			d.log.Info("federation finished")
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if isPermanent(err) {
			return fmt.Errorf("coordinator refused this participant: %w", err)
		}
		if connected {
			backoff = time.Duration(cfg.Reconnect.Initial)
		}
		d.log.Warn("connection to the coordinator lost; reconnecting", logging.KeyErr, err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Duration(cfg.Reconnect.Max))
	}
}

func newDaemon(cfg Config, opts Options) (*daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	id, err := pki.LocalIdentity(pki.Files(cfg.TLS))
	if err != nil {
		return nil, fmt.Errorf("participant identity: %w", err)
	}
	if id.Role != pki.RoleParticipant {
		return nil, fmt.Errorf("%s: certificate is for role %q, want %q", cfg.TLS.Cert, id.Role, pki.RoleParticipant)
	}
	v, err := provider.Verifier(cfg.AggregatorAttestation, tee.Options{AllowInsecureSimulated: opts.InsecureSimulatedTEE}, opts.Hooks)
	if err != nil {
		return nil, fmt.Errorf("verifying the aggregator: %w", err)
	}
	if cfg.AggregatorAttestation.Kind() == tee.KindSimulated {
		log.Warn("INSECURE: accepting an aggregator in the simulated TEE; this site's update is not protected by hardware")
	}
	issuer, err := participantIssuer(cfg, opts)
	if err != nil {
		return nil, err
	}
	all, _, err := heartdisease.Load(cfg.Data.Path)
	if err != nil {
		return nil, fmt.Errorf("loading local data: %w", err)
	}
	train, test, err := heartdisease.Split(all, cfg.Data.TestFraction, cfg.Data.SplitSeed)
	if err != nil {
		return nil, fmt.Errorf("splitting local data: %w", err)
	}
	log.Info("local data loaded", "train_examples", len(train.Y), "test_examples", len(test.Y))
	return &daemon{cfg: cfg, opts: opts, log: log.With(logging.KeyParticipant, id.Name), id: id, verifier: v, issuer: issuer, trainSet: train, testSet: test}, nil
}

// session joins and follows tasks until the stream breaks. connected says
// whether the coordinator was reached at all.
func (d *daemon) session(ctx context.Context) (connected bool, err error) {
	join, err := d.fed.Join(ctx, &confedv1.JoinRequest{SoftwareVersion: version.String()})
	if err != nil {
		return false, fmt.Errorf("joining: %w", err)
	}
	if join.GetFederation() != d.id.Federation {
		return true, fmt.Errorf("coordinator runs federation %q, this participant belongs to %q", join.GetFederation(), d.id.Federation)
	}
	d.log.Info("joined federation", "federation", join.GetFederation(), "rounds", join.GetRounds())
	d.health.SetReady(true, "")
	tasks, err := d.fed.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
	if err != nil {
		return true, fmt.Errorf("watching tasks: %w", err)
	}
	d.metrics.setConnected(true)
	defer d.metrics.setConnected(false)
	for {
		t, err := tasks.Recv()
		if err != nil {
			return true, fmt.Errorf("task stream: %w", err)
		}
		switch t.GetKind() {
		case confedv1.TaskKind_TASK_KIND_FINISHED:
			if d.opts.ExitWhenFinished {
				return true, errFinished
			}
			d.log.Info("federation finished; waiting for further tasks")
		case confedv1.TaskKind_TASK_KIND_TRAIN:
			d.runRound(ctx, t)
		default:
			d.log.Warn("ignoring unknown task", "kind", t.GetKind().String())
		}
	}
}

// isPermanent reports errors that retrying cannot fix.
func isPermanent(err error) bool {
	c := status.Code(err)
	return c == codes.PermissionDenied || c == codes.Unauthenticated
}

func dial(addr string, files pki.Files, role pki.Role, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	tlsCfg, err := pki.ClientTLSFor(files, host, role)
	if err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	return grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true})}, extra...)...)
}

// participantIssuer is the issuer of this participant's own evidence.
func participantIssuer(cfg Config, opts Options) (tee.Issuer, error) {
	if opts.Issuer != nil || cfg.AttestAs == "none" || cfg.AttestAs == "" {
		return opts.Issuer, nil
	}
	iss, err := provider.Issuer(cfg.AttestAs, tee.Options{AllowInsecureSimulated: opts.InsecureSimulatedTEE})
	if err != nil {
		return nil, fmt.Errorf("attest_as %s: %w", cfg.AttestAs, err)
	}
	return iss, nil
}
