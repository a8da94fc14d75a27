package reliability

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// FedSpec describes a federation of real coordinator and aggregator
// processes.
type FedSpec struct {
	Participants []string
	Min          int
	Features     int
	Rounds       int
	// RoundDeadline is timing.round_deadline; JoinTimeout timing.join_timeout.
	RoundDeadline, JoinTimeout time.Duration
	// Aggregation is the round configuration's aggregation section (YAML,
	// "" for FedAvg defaults).
	Aggregation string
	// MaxConcurrent is the aggregator's max_concurrent_updates (0: default).
	MaxConcurrent int
	// StreamIdle is the aggregator's stream_idle_timeout (0: default).
	StreamIdle time.Duration
	// MaxConnections is the aggregator's max_connections (0: default).
	MaxConnections int
	// ProxyParticipants and ProxyCoordinator put a fault-injecting proxy
	// between participants and the aggregator, and between the aggregator
	// and the coordinator.
	ProxyParticipants, ProxyCoordinator bool
	// CoordSkew is added to the coordinator's clock.
	CoordSkew time.Duration
	// ParticipantsTEE is tee.participants ("" or "simulated": participants
	// must attest).
	ParticipantsTEE string
}

// Fed is a running federation: a coordinator and an aggregator child, and
// the proxies between them and the participants.
type Fed struct {
	Spec FedSpec
	Dir  string
	PKI  *PKI
	// CoordAddr and AggAddr are where the daemons listen; ParticipantAggAddr
	// is what participants are told to dial (a proxy or AggAddr).
	CoordAddr, AggAddr, ParticipantAggAddr string
	PartProxy, CoordProxy                  *Proxy
	Coord, Agg                             *Proc
	coordCfg                               coordChild
	aggCfg                                 aggChild
	opConn                                 *grpc.ClientConn
	Op                                     confedv1.OperatorClient
}

const roundYAML = `federation: %s
rounds: %d
model:
  kind: logistic_regression
  features: %d
  init: zeros
participants:
  expected: [%s]
  min: %d
timing:
  join_timeout: %s
  aggregator_ready_timeout: 30s
  round_deadline: %s
  aggregation_timeout: 2m
%s
tee:
  aggregator: simulated
%s`

// freeAddr returns a loopback address with a port that was free.
func freeAddr() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer lis.Close()
	return lis.Addr().String(), nil
}

// StartFed starts the federation's coordinator and aggregator.
func StartFed(spec FedSpec) (f *Fed, err error) {
	dir, err := tempDir("fed")
	if err != nil {
		return nil, err
	}
	f = &Fed{Spec: spec, Dir: dir}
	defer func() {
		if err != nil {
			f.Close()
			f = nil
		}
	}()
	if f.PKI, err = NewPKI(dir); err != nil {
		return f, err
	}
	if err := f.configure(); err != nil {
		return f, err
	}
	if err := f.StartCoordinator(); err != nil {
		return f, err
	}
	if err := f.StartAggregator(); err != nil {
		return f, err
	}
	opFiles, err := f.PKI.Issue(pki.RoleOperator, "operator")
	if err != nil {
		return f, err
	}
	tlsCfg, err := pki.ClientTLS(opFiles, "127.0.0.1")
	if err != nil {
		return f, err
	}
	if f.opConn, err = grpc.NewClient(f.CoordAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg))); err != nil {
		return f, err
	}
	f.Op = confedv1.NewOperatorClient(f.opConn)
	return f, nil
}

func (f *Fed) configure() error {
	s := f.Spec
	if s.Rounds == 0 {
		s.Rounds = 1000
	}
	if s.JoinTimeout == 0 {
		s.JoinTimeout = 2 * time.Second
	}
	yaml := fmt.Sprintf(roundYAML, federation, s.Rounds, s.Features, strings.Join(s.Participants, ", "), s.Min,
		s.JoinTimeout, s.RoundDeadline, s.Aggregation, participantsTEE(s.ParticipantsTEE))
	rc := filepath.Join(f.Dir, "federation.yaml")
	if err := os.WriteFile(rc, []byte(yaml), 0o644); err != nil {
		return err
	}
	var err error
	if f.CoordAddr, err = freeAddr(); err != nil {
		return err
	}
	if f.AggAddr, err = freeAddr(); err != nil {
		return err
	}
	f.ParticipantAggAddr = f.AggAddr
	if s.ProxyParticipants {
		if f.PartProxy, err = NewProxy(f.AggAddr); err != nil {
			return err
		}
		f.ParticipantAggAddr = f.PartProxy.Addr()
	}
	aggToCoord := f.CoordAddr
	if s.ProxyCoordinator {
		if f.CoordProxy, err = NewProxy(f.CoordAddr); err != nil {
			return err
		}
		aggToCoord = f.CoordProxy.Addr()
	}
	coordFiles, err := f.PKI.Issue(pki.RoleCoordinator, "coordinator")
	if err != nil {
		return err
	}
	aggFiles, err := f.PKI.Issue(pki.RoleAggregator, "aggregator")
	if err != nil {
		return err
	}
	cc := coordinator.Default()
	cc.Listen = f.CoordAddr
	cc.Database = filepath.Join(f.Dir, "coordinator.db")
	cc.RoundConfig = rc
	cc.AggregatorAddress = f.ParticipantAggAddr
	cc.TLS = yamlcfg.TLSFiles(coordFiles)
	f.coordCfg = coordChild{Config: cc, Tick: 20 * time.Millisecond, Skew: s.CoordSkew}
	ac := aggregator.Default()
	ac.Listen = f.AggAddr
	ac.Coordinator = aggToCoord
	ac.TLS = yamlcfg.TLSFiles(aggFiles)
	ac.Attestation = provider.Policy{TEE: "simulated"}
	ac.SpillDir = f.Dir
	if s.MaxConcurrent > 0 {
		ac.MaxConcurrentUpdates = yamlcfg.FixedInt(s.MaxConcurrent)
	}
	setStreamIdle(&ac, s.StreamIdle)
	if s.MaxConnections > 0 {
		ac.MaxConnections = s.MaxConnections
	}
	f.aggCfg = aggChild{Config: ac}
	return nil
}

// DBPath is the coordinator's bbolt file.
func (f *Fed) DBPath() string { return f.coordCfg.Config.Database }

// StartCoordinator starts (or restarts) the coordinator child.
func (f *Fed) StartCoordinator() error {
	p, err := startChild("coordinator", "coordinator", f.coordCfg)
	if err != nil {
		return err
	}
	f.Coord = p
	_, err = p.WaitReady(60 * time.Second)
	return err
}

// StartAggregator starts (or restarts) the aggregator child.
func (f *Fed) StartAggregator() error {
	p, err := startChild("aggregator", "aggregator", f.aggCfg)
	if err != nil {
		return err
	}
	f.Agg = p
	_, err = p.WaitReady(60 * time.Second)
	return err
}

// StopCoordinator stops the coordinator gracefully.
func (f *Fed) StopCoordinator() error {
	if f.Coord == nil {
		return nil
	}
	return f.Coord.Stop(30 * time.Second)
}

// Close stops every process and proxy and removes the directory.
func (f *Fed) Close() {
	if f.Agg != nil {
		f.Agg.Kill()
	}
	if f.Coord != nil {
		f.Coord.Stop(30 * time.Second)
	}
	if f.opConn != nil {
		f.opConn.Close()
	}
	if f.PartProxy != nil {
		f.PartProxy.Close()
	}
	if f.CoordProxy != nil {
		f.CoordProxy.Close()
	}
	os.RemoveAll(f.Dir)
}

// Rounds lists the rounds the coordinator knows.
func (f *Fed) Rounds() ([]*confedv1.RoundStatus, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.Op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		return nil, false, err
	}
	return resp.GetRounds(), resp.GetFinished(), nil
}

// Round is round r's status (nil if the coordinator does not know it).
func (f *Fed) Round(r uint64) (*confedv1.RoundStatus, error) {
	rs, _, err := f.Rounds()
	if err != nil {
		return nil, err
	}
	for _, s := range rs {
		if s.GetRound() == r {
			return s, nil
		}
	}
	return nil, nil
}

// Summary is a one-line account of the rounds, for failure messages.
func Summary(rs []*confedv1.RoundStatus) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "[%d %s", r.GetRound(), strings.TrimPrefix(r.GetState().String(), "ROUND_STATE_"))
		if r.GetReason() != "" {
			fmt.Fprintf(&b, " %q", trim(r.GetReason(), 120))
		}
		b.WriteString("] ")
	}
	return b.String()
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// countPublished counts the published rounds after round 0.
func countPublished(rs []*confedv1.RoundStatus) int {
	n := 0
	for _, r := range rs {
		if r.GetRound() > 0 && r.GetState() == confedv1.RoundState_ROUND_STATE_PUBLISHED {
			n++
		}
	}
	return n
}

// WaitPublished waits until at least n rounds after round 0 are published.
func (f *Fed) WaitPublished(n int, timeout time.Duration) error {
	return waitFor(timeout, fmt.Sprintf("%d published rounds", n), func() (bool, string, error) {
		rs, _, err := f.Rounds()
		if err != nil {
			return false, err.Error(), nil
		}
		return countPublished(rs) >= n, Summary(rs) + f.procLogs(), nil
	})
}

// WaitRoundState waits until round r is in one of states, and returns it.
func (f *Fed) WaitRoundState(r uint64, timeout time.Duration, states ...confedv1.RoundState) (*confedv1.RoundStatus, error) {
	var got *confedv1.RoundStatus
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = s.String()
	}
	err := waitFor(timeout, fmt.Sprintf("round %d in %s", r, strings.Join(names, "/")), func() (bool, string, error) {
		rs, err := f.Round(r)
		if err != nil || rs == nil {
			return false, fmt.Sprint(err), nil
		}
		got = rs
		for _, s := range states {
			if rs.GetState() == s {
				return true, "", nil
			}
		}
		return false, Summary([]*confedv1.RoundStatus{rs}), nil
	})
	return got, err
}

func (f *Fed) procLogs() string {
	var b strings.Builder
	if f.Coord != nil {
		b.WriteString(strings.ReplaceAll(f.Coord.Logs(), "logs:", "coordinator logs:"))
	}
	if f.Agg != nil {
		b.WriteString(strings.ReplaceAll(f.Agg.Logs(), "logs:", "aggregator logs:"))
	}
	return b.String()
}

// federationClient dials the coordinator's Federation service as name.
func (f *Fed) dialCoordinator(name string) (*grpc.ClientConn, error) {
	tlsCfg, err := f.PKI.ClientTLS(pki.RoleParticipant, name, pki.RoleCoordinator)
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(f.CoordAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
}

// setStreamIdle sets the aggregator's stream_idle_timeout when d > 0.
func setStreamIdle(c *aggregator.Config, d time.Duration) {
	if d > 0 {
		c.StreamIdleTimeout = yamlcfg.Duration(d)
	}
}

func participantsTEE(kind string) string {
	if kind == "" {
		return ""
	}
	return "  participants: " + kind + "\n"
}
