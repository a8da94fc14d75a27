package reliability

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/submit"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// SwarmSpec configures a process of simulated participants: each joins the
// coordinator, watches its tasks and, for every TRAIN task, submits a
// generated update over the attested transport, sealed to the round key
// (internal/submit), as the participant daemon does. They do not download
// the global model or train: the suite loads the aggregator, not the
// participants.
type SwarmSpec struct {
	CoordAddr string
	// Files are the participants' credentials, by name.
	Files    map[string]pki.Files
	Features int
	Seed     uint64
	// ChunkSize is the plaintext size of each sealed chunk.
	ChunkSize int
	// ChunkDelay is slept before each chunk (a slow sender).
	ChunkDelay time.Duration
	// Skew is added to the participants' clocks: their TLS certificate
	// checks and their reading of the task deadline.
	Skew time.Duration
	// Attempts bounds the submissions of one participant in one round.
	Attempts int
	// Attest presents simulated TEE evidence to the aggregator.
	Attest bool
	// PoisonFrom, if not 0, is the first round in which the swarm sends
	// its update scaled by PoisonScale (a model-poisoning participant).
	PoisonFrom  uint64
	PoisonScale float32
	// Distinct gives each participant its own update (seeded by its
	// position) instead of one shared by the whole swarm.
	Distinct bool
}

// SwarmEvent is what a swarm reports of each submission.
type SwarmEvent struct {
	Kind    string `json:"kind"` // "stream" once the header is sent, "done" when answered
	P       string `json:"p"`
	Round   uint64 `json:"round"`
	OK      bool   `json:"ok"`
	Reason  string `json:"reason,omitempty"`
	Bytes   int64  `json:"bytes"`
	Attempt int    `json:"attempt"`
}

// lrUpdate returns the spec of the F-feature logistic regression and the
// canonical encoding of a finite update of it (|v| < 0.01, seeded).
func lrUpdate(features int, seed uint64) (model.Spec, []byte, error) {
	spec, err := lrSpec(features)
	if err != nil {
		return nil, nil, err
	}
	flat := make([]float32, spec.NumParams())
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range flat {
		flat[i] = (rng.Float32() - 0.5) * 0.02
	}
	m, err := model.FromFlat(spec, flat)
	if err != nil {
		return nil, nil, err
	}
	enc := model.EncodeSafetensors(m)
	if enc == nil {
		return nil, nil, errors.New("encoding the update failed")
	}
	return spec, enc, nil
}

// scaledUpdate is lrUpdate's update with its weights and bias multiplied
// by scale (the feature statistics left as they are).
func scaledUpdate(features int, seed uint64, scale float32) ([]byte, error) {
	spec, err := lrSpec(features)
	if err != nil {
		return nil, err
	}
	flat := make([]float32, spec.NumParams())
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range flat {
		flat[i] = (rng.Float32() - 0.5) * 0.02
	}
	m, err := model.FromFlat(spec, flat)
	if err != nil {
		return nil, err
	}
	for i := range m.Tensors {
		if n := m.Tensors[i].Name; n == "weight" || n == "bias" {
			for j := range m.Tensors[i].Data {
				m.Tensors[i].Data[j] = scale
			}
		}
	}
	return model.EncodeSafetensors(m), nil
}

func lrSpec(features int) (model.Spec, error) {
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: features, Init: model.InitZeros})
	if err != nil {
		return nil, err
	}
	return m.Spec(), nil
}

func simulatedVerifier() tee.Verifier {
	return simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true})
}

// swarm runs the participants of a SwarmSpec.
type swarm struct {
	spec      SwarmSpec
	enc       []byte
	sum       [32]byte
	poison    []byte
	poisonSum [32]byte
	issuer    tee.Issuer
	emit      func(any)
	// own are the participants' own updates when the spec is Distinct.
	own map[string][]byte
}

func runSwarmChild(ctx context.Context, raw []byte, ready func(string), emit func(any)) error {
	var spec SwarmSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("swarm config: %w", err)
	}
	return RunSwarm(ctx, spec, func() { ready("swarm") }, emit)
}

// RunSwarm runs spec's participants until ctx ends or the federation
// finishes; ready is called once the update is encoded.
func RunSwarm(ctx context.Context, spec SwarmSpec, ready func(), emit func(any)) error {
	if spec.ChunkSize <= 0 {
		spec.ChunkSize = 1 << 20
	}
	if spec.Attempts <= 0 {
		spec.Attempts = 20
	}
	_, enc, err := lrUpdate(spec.Features, spec.Seed)
	if err != nil {
		return err
	}
	sw := &swarm{spec: spec, enc: enc, sum: sha256.Sum256(enc), emit: emit}
	if spec.PoisonFrom > 0 {
		if sw.poison, err = scaledUpdate(spec.Features, spec.Seed, spec.PoisonScale); err != nil {
			return err
		}
		sw.poisonSum = sha256.Sum256(sw.poison)
	}
	if spec.Distinct {
		sw.own = map[string][]byte{}
		i := uint64(0)
		for name := range spec.Files {
			i++
			if _, sw.own[name], err = lrUpdate(spec.Features, spec.Seed*1000+i); err != nil {
				return err
			}
		}
	}
	if spec.Attest {
		if sw.issuer, err = simulated.NewIssuer(tee.Options{AllowInsecureSimulated: true}); err != nil {
			return err
		}
	}
	ready()
	var wg sync.WaitGroup
	for name := range spec.Files {
		wg.Go(func() { sw.participant(ctx, name) })
	}
	wg.Wait()
	return nil
}

func (sw *swarm) tlsFor(name string, server pki.Role) (*tls.Config, error) {
	c, err := pki.ClientTLSFor(sw.spec.Files[name], "127.0.0.1", server)
	if err != nil {
		return nil, err
	}
	if skew := sw.spec.Skew; skew != 0 {
		c.Time = func() time.Time { return time.Now().Add(skew) }
	}
	return c, nil
}

// participant joins, watches tasks with reconnects, and submits once per
// round until accepted.
func (sw *swarm) participant(ctx context.Context, name string) {
	tlsCfg, err := sw.tlsFor(name, pki.RoleCoordinator)
	if err != nil {
		sw.emit(SwarmEvent{Kind: "error", P: name, Reason: err.Error()})
		return
	}
	conn, err := grpc.NewClient(sw.spec.CoordAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		sw.emit(SwarmEvent{Kind: "error", P: name, Reason: err.Error()})
		return
	}
	defer conn.Close()
	fc := confedv1.NewFederationClient(conn)
	var last uint64
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		ws, err := fc.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
		if err != nil {
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		for {
			t, err := ws.Recv()
			if err != nil {
				break
			}
			switch t.GetKind() {
			case confedv1.TaskKind_TASK_KIND_FINISHED:
				return
			case confedv1.TaskKind_TASK_KIND_TRAIN:
				if t.GetRound() > last && sw.round(ctx, name, t) {
					last = t.GetRound()
				}
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// round submits for task t until the update is accepted (or already
// included), the attempts run out or the deadline passes as this
// participant's clock reads it.
func (sw *swarm) round(ctx context.Context, name string, t *confedv1.Task) bool {
	ctx, cancel := context.WithDeadline(ctx, t.GetDeadline().AsTime().Add(-sw.spec.Skew))
	defer cancel()
	for attempt := 1; attempt <= sw.spec.Attempts && ctx.Err() == nil; attempt++ {
		resp, err := sw.submit(ctx, name, t)
		ev := SwarmEvent{Kind: "done", P: name, Round: t.GetRound(), Attempt: attempt}
		switch {
		case err != nil:
			ev.Reason = err.Error()
		case resp.GetAccepted():
			ev.OK, ev.Bytes = true, int64(len(sw.enc)) // every update of a swarm has the same size
		default:
			ev.Reason = resp.GetReason()
		}
		sw.emit(ev)
		if ev.OK || strings.Contains(ev.Reason, "duplicate") || strings.Contains(ev.Reason, "already") {
			return true
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	return false
}

// submit sends the swarm's update for t as name, over a new attested
// connection.
func (sw *swarm) submit(ctx context.Context, name string, t *confedv1.Task) (*confedv1.SubmitUpdateResponse, error) {
	tlsCfg, err := sw.tlsFor(name, pki.RoleAggregator)
	if err != nil {
		return nil, err
	}
	round := t.GetRound()
	conn, err := submit.Dial{Address: t.GetAggregatorAddress(), TLS: tlsCfg, Federation: federation,
		Round: round, Verifier: simulatedVerifier(), Issuer: sw.issuer}.Connect()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	up, err := confedv1.NewAggregatorClient(conn).SubmitUpdate(ctx)
	if err != nil {
		return nil, err
	}
	sealer, err := submit.Sealer(up.Context(), federation, round, name)
	if err != nil {
		return nil, err
	}
	enc, sum := sw.enc, sw.sum
	if own, ok := sw.own[name]; ok {
		enc, sum = own, sha256.Sum256(own)
	}
	if sw.spec.PoisonFrom > 0 && round >= sw.spec.PoisonFrom {
		enc, sum = sw.poison, sw.poisonSum
	}
	h := &confedv1.UpdateHeader{Round: round, NumExamples: 100, BaseModelSha256: t.GetGlobalModelSha256(),
		Size: uint64(len(enc)), UpdateSha256: sum[:], SealedStream: sealer.Header(),
		Metrics: map[string]float64{"train_loss": 0.5}}
	send := up.Send
	if d := sw.spec.ChunkDelay; d > 0 {
		send = func(m *confedv1.SubmitUpdateRequest) error {
			time.Sleep(d)
			return up.Send(m)
		}
	}
	return submit.SendUpdate(up, h, func() error {
		sw.emit(SwarmEvent{Kind: "stream", P: name, Round: round})
		return submit.SendSealed(bytes.NewReader(enc), sw.spec.ChunkSize, sealer, send)
	})
}
