package coordinator

import (
	"context"
	"crypto/rand"
	"slices"
	"time"

	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/secagg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// secAggState is the coordinator's side of secure aggregation
// (docs/secure-aggregation.md): it picks each round's SecAgg+ session
// (roster, seed, threshold, degree) and hands it to the aggregator and the
// participants. It never sees a key, share or masked input.
type secAggState struct {
	// certs holds the DER certificate of each participant's current
	// WatchTasks connection: the roster's signing keys come from them.
	certs map[string][]byte
	// round is the session of the round in progress (nil: none, or
	// secure aggregation is off).
	round *confedv1.SecAggParams
}

// peerCertDER is the DER of the peer's leaf certificate, or nil.
func peerCertDER(ctx context.Context) []byte {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := pki.TLSInfoOf(p.AuthInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return nil
	}
	return info.State.PeerCertificates[0].Raw
}

// rememberCert records the certificate a participant connected with; e.mu
// is held.
func (e *engine) rememberCert(name string, der []byte) {
	if e.secagg.certs == nil {
		e.secagg.certs = map[string][]byte{}
	}
	if len(der) > 0 {
		e.secagg.certs[name] = der
	}
}

// secAggOpen picks the session of the round being opened, or returns nil
// when secure aggregation is off: the roster is the expected participants
// connected now, in participants.expected order, each with the certificate
// of its connection; the seed is fresh from crypto/rand. A participant
// that connects later sits the round out. e.mu is held.
func (e *engine) secAggOpen(round uint64) *confedv1.SecAggParams {
	e.secagg.round = nil
	sa := e.rc.SecureAggregation
	if !sa.On() {
		return nil
	}
	p := &confedv1.SecAggParams{Threshold: uint32(sa.Threshold), NeighbourDegree: uint32(sa.NeighbourDegree),
		RoundSeed: make([]byte, secagg.SeedLen), StageTimeout: durationpb.New(sa.Stage())}
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(p.RoundSeed)
	var roster []string
	for _, name := range e.connectedExpected() {
		if der := e.secagg.certs[name]; der != nil {
			p.RosterCertificates = append(p.RosterCertificates, slices.Clone(der))
			roster = append(roster, name)
		}
	}
	e.secagg.round = p
	e.log.Info("secure aggregation session", logging.KeyRound, round, "roster", roster, "threshold", sa.Threshold,
		"neighbour_degree", sa.NeighbourDegree)
	return p
}

// secAggTrain is the session as sent to a participant with its TRAIN task:
// it adds when the session ends at the latest (collection deadline plus
// aggregation timeout). nil when the round runs without secure
// aggregation. e.mu is held.
func (e *engine) secAggTrain(deadline time.Time) *confedv1.SecAggParams {
	if e.secagg.round == nil {
		return nil
	}
	p := proto.CloneOf(e.secagg.round)
	p.SessionDeadline = timestamppb.New(deadline.Add(time.Duration(e.rc.Timing.AggregationTimeout)))
	return p
}
