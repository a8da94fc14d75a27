package participant

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/internal/submit"
	"github.com/confed/confed/participant/trainer"
	"github.com/confed/confed/participant/trainer/external"
	confedv1 "github.com/confed/confed/proto/confed/v1"
	"google.golang.org/protobuf/proto"
)

// runRound carries out one TRAIN task. Failures are logged and the round is
// skipped: the coordinator's deadline takes care of the rest.
func (d *daemon) runRound(ctx context.Context, t *confedv1.Task) {
	if t.GetRound() <= d.lastDone {
		return
	}
	log := d.log.With(logging.KeyRound, t.GetRound())
	ctx, cancel := context.WithDeadline(ctx, sessionDeadline(t))
	defer cancel()
	start := time.Now()
	resp, err := d.trainAndSubmit(ctx, t)
	d.metrics.roundDone(t.GetRound(), resp, err)
	switch {
	case err != nil:
		log.Error("round skipped", logging.KeyErr, err)
		d.reportProblem(ctx, t.GetRound(), err)
	case !resp.GetAccepted():
		log.Warn("update not accepted", logging.KeyReason, resp.GetReason())
	default:
		d.lastDone = t.GetRound()
		log.Info("update accepted", logging.KeyDuration, time.Since(start).Round(time.Millisecond))
	}
}

func (d *daemon) trainAndSubmit(ctx context.Context, t *confedv1.Task) (*confedv1.SubmitUpdateResponse, error) {
	global, err := d.download(ctx, t)
	d.metrics.downloaded(err)
	if err != nil {
		return nil, err
	}
	sa, err := d.startSecAgg(ctx, t, global) // nil unless the update is masked (secagg.go)
	if err != nil {
		return nil, err
	}
	defer sa.close()
	trainStart := time.Now()
	upd, metrics, err := d.train(ctx, global.Model, t.GetRound(), t.GetParams())
	if err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	d.metrics.trainedIn(time.Since(trainStart))
	if err := localDP(upd, t.GetParams().GetPrivacy(), metrics["statistics_round"] != 0); err != nil {
		return nil, fmt.Errorf("local differential privacy: %w", err)
	}
	if sa != nil {
		return sa.submit(ctx, global.SHA256, upd, metrics)
	}
	var p payload
	if fp := t.GetParams().GetFixedPoint(); fp != nil && metrics["statistics_round"] == 0 {
		p, err = ringPayload(upd, uint64(metrics["num_examples"]), fp)
	} else {
		p, err = modelPayload(upd)
	}
	if err != nil {
		return nil, err
	}
	return d.submit(ctx, t, global.SHA256, p, metrics)
}

// reportProblem tells the coordinator why this participant could not take
// part in a round, so that the operator sees it. Best effort.
func (d *daemon) reportProblem(ctx context.Context, round uint64, err error) {
	kind := "round_failed"
	var refused *aggregatorRefused
	var refusedBy *refusedByAggregator
	var trainerErr *external.Error
	switch {
	case errors.As(err, &trainerErr):
		kind = "trainer_failed"
	case errors.As(err, &refused):
		kind = "aggregator_refused"
	case errors.As(err, &refusedBy):
		kind = "refused_by_aggregator"
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	reason := err.Error()
	if len(reason) > 1024 {
		reason = strings.ToValidUTF8(reason[:1024], "")
	}
	if _, rerr := d.fed.ReportProblem(rctx, &confedv1.ProblemReport{Round: round, Kind: kind, Reason: reason}); rerr != nil {
		d.log.Warn("could not report the problem to the coordinator", logging.KeyErr, rerr)
	}
}

// modelSpec is the shape of the built-in trainer's model.
func modelSpec() model.Spec {
	m, err := model.Init(model.InitSpec{Kind: "logistic_regression", Features: heartdisease.NumFeatures, Init: "zeros"})
	if err != nil {
		panic(err) // constant arguments: a failure is a programming error
	}
	return m.Spec()
}

func (d *daemon) download(ctx context.Context, t *confedv1.Task) (*modelio.Downloaded, error) {
	s, err := d.fed.DownloadModel(ctx, &confedv1.DownloadModelRequest{Round: proto.Uint64(t.GetGlobalRound())})
	if err != nil {
		return nil, fmt.Errorf("downloading global model of round %d: %w", t.GetGlobalRound(), err)
	}
	spec := modelSpec()
	got, err := modelio.Receive(ctx, s, modelio.Expect{
		Federation: d.id.Federation, Verifier: d.verifier, Spec: spec,
		SHA256: t.GetGlobalModelSha256(), MaxBytes: model.SafetensorsSize(spec),
	})
	if errors.Is(err, modelio.ErrUntrusted) {
		return nil, &aggregatorRefused{err: fmt.Errorf("global model of round %d: %w", t.GetGlobalRound(), err)}
	}
	if err != nil {
		return nil, fmt.Errorf("global model of round %d: %w", t.GetGlobalRound(), err)
	}
	if r := got.Verified.Manifest.GetRound(); r != t.GetGlobalRound() {
		return nil, fmt.Errorf("asked for the model of round %d, got one signed for round %d", t.GetGlobalRound(), r)
	}
	return got, nil
}

// train runs the local trainer (built-in or external) and returns the
// update (local − global) and the metrics reported with it. In the federation's first round it
// contributes the local feature statistics instead (see scaler.go).
func (d *daemon) train(ctx context.Context, global *model.Model, round uint64, p *confedv1.TrainingParams) (*model.Model, map[string]float64, error) {
	scaler, ready, err := ModelScaler(global)
	if err != nil {
		return nil, nil, err
	}
	if !ready {
		upd, err := momentsUpdate(global, d.trainSet)
		return upd, map[string]float64{"num_examples": float64(len(d.trainSet.Y)), "statistics_round": 1}, err
	}
	train, err := scaler.Transform(d.trainSet)
	if err != nil {
		return nil, nil, err
	}
	test, err := scaler.Transform(d.testSet)
	if err != nil {
		return nil, nil, err
	}
	gw, err := ModelToWeights(global)
	if err != nil {
		return nil, nil, err
	}
	before, err := trainer.Evaluate(gw, test)
	if err != nil {
		return nil, nil, err
	}
	local, metrics, err := d.localTrain(ctx, global, gw, train, round, p)
	if err != nil {
		return nil, nil, err
	}
	after, err := trainer.Evaluate(local, test)
	if err != nil {
		return nil, nil, err
	}
	upd, err := weightsUpdate(global, local)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(metrics, map[string]float64{
		"global_loss": before.Loss, "global_accuracy": before.Accuracy, "global_auc": before.AUC,
		"local_loss": after.Loss, "local_accuracy": after.Accuracy, "local_auc": after.AUC,
		"test_examples": float64(after.N),
	})
	return upd, metrics, nil
}

// localTrain trains from the global model with the built-in trainer or,
// with trainer.kind external, with the configured process
// (docs/trainers.md), and returns the local weights and training metrics.
func (d *daemon) localTrain(ctx context.Context, global *model.Model, gw trainer.Weights, train heartdisease.Dataset, round uint64, p *confedv1.TrainingParams) (trainer.Weights, map[string]float64, error) {
	seed := roundSeed(p.GetSeed(), round, d.id.Name)
	if d.cfg.Trainer.Kind == trainerExternal {
		return d.trainExternal(ctx, global, round, p, seed)
	}
	local, stats, err := trainer.Train(gw, train, trainer.Params{
		LocalEpochs: int(p.GetLocalEpochs()), LearningRate: p.GetLearningRate(), BatchSize: int(p.GetBatchSize()),
		ProximalMu: p.GetProximalMu(), L2: p.GetL2(), Seed: seed,
	})
	return local, map[string]float64{"num_examples": float64(stats.NumExamples), "train_loss": stats.Loss}, err
}

// trainExternal runs the external trainer. It sees the raw data file and
// the global model, whose input_mean/input_sq_mean it must leave unchanged
// and standardise with; its metrics are reported as train_loss,
// train_accuracy and trainer_<name>.
func (d *daemon) trainExternal(ctx context.Context, global *model.Model, round uint64, p *confedv1.TrainingParams, seed uint64) (trainer.Weights, map[string]float64, error) {
	n := uint64(len(d.trainSet.Y))
	res, err := external.New(*d.cfg.Trainer.External, d.log).Train(ctx, external.Job{
		Round: round, Participant: d.id.Name, ModelKind: model.KindLogisticRegression, Global: global,
		Frozen: []string{tensorMean, tensorSqMean}, MaxExamples: n,
		Params: external.Params{LocalEpochs: p.GetLocalEpochs(), LearningRate: p.GetLearningRate(), BatchSize: p.GetBatchSize(),
			ProximalMu: p.GetProximalMu(), L2: p.GetL2(), Seed: seed},
		Data: external.Data{Format: d.cfg.Data.Format, Path: d.cfg.Data.Path, TestFraction: d.cfg.Data.TestFraction,
			SplitSeed: d.cfg.Data.SplitSeed, TrainExamples: n, FeatureNames: heartdisease.FeatureNames},
	})
	if err != nil {
		return trainer.Weights{}, nil, err
	}
	local, err := ModelToWeights(res.Model)
	m := map[string]float64{"num_examples": float64(res.Metrics.NumExamples),
		"train_loss": res.Metrics.Loss, "train_accuracy": res.Metrics.Accuracy}
	for k, v := range res.Metrics.Extra {
		m["trainer_"+k] = v
	}
	return local, m, err
}

// roundSeed gives each participant and round its own shuffling.
func roundSeed(base, round uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return base ^ (round * 0x9e3779b97f4a7c15) ^ h.Sum64()
}

// submit streams the update to the aggregator over an attested connection,
// sealed to the round key that the aggregator's verified evidence binds.
//
// An aggregator that is busy (it serves max_connections participants at
// once; the others wait to be accepted) or briefly unreachable is waited
// for, reconnecting with backoff, until the round's context ends; a
// handshake that fails for any other reason (a refusal by either side, a
// certificate problem) ends the submission at once with that reason.
func (d *daemon) submit(ctx context.Context, t *confedv1.Task, base [32]byte, upd payload, metrics map[string]float64) (resp *confedv1.SubmitUpdateResponse, err error) {
	var refused atomic.Pointer[error]
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conn, err := d.dialAggregator(t, func(hsErr error) {
		if !transientHandshake(hsErr) {
			refused.Store(&hsErr)
			cancel(hsErr)
		}
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	defer func() {
		if e := refused.Load(); e != nil && err != nil {
			err = handshakeProblem(*e)
		}
	}()
	up, err := confedv1.NewAggregatorClient(conn).SubmitUpdate(ctx, grpc.WaitForReady(true))
	if err != nil {
		return nil, fmt.Errorf("opening update stream: %w", err)
	}
	sealer, err := submit.Sealer(up.Context(), d.id.Federation, t.GetRound(), d.id.Name)
	if err != nil {
		return nil, err
	}
	h := &confedv1.UpdateHeader{Round: t.GetRound(), NumExamples: uint64(metrics["num_examples"]), BaseModelSha256: base[:],
		Size: uint64(upd.size), UpdateSha256: upd.sha[:], Metrics: metrics, SealedStream: sealer.Header()}
	return submit.SendUpdate(up, h, func() error {
		if err := sendPayload(upd, sealer, up.SendMsg); err != nil {
			return err
		}
		d.metrics.sent(upd.size)
		return nil
	})
}

// transientHandshake reports whether a failed handshake is worth retrying:
// the aggregator did not answer in time (it is busy, or the network is
// slow) or the connection was refused or reset.
func transientHandshake(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// handshakeProblem classifies a failed attested handshake: this participant
// refused the aggregator, or the aggregator refused this participant.
func handshakeProblem(err error) error {
	var re *atls.RefusalError
	if errors.As(err, &re) && re.ByPeer {
		return &refusedByAggregator{err: err}
	}
	return &aggregatorRefused{err: err}
}

// refusedByAggregator is a submission the aggregator refused at the
// attested handshake (e.g. this participant's evidence did not meet the
// round's participant policy).
type refusedByAggregator struct{ err error }

func (e *refusedByAggregator) Error() string {
	return "the aggregator refused this participant: " + e.err.Error()
}
func (e *refusedByAggregator) Unwrap() error { return e.err }

// aggregatorRefused is a submission abandoned because the aggregator's
// attestation did not meet this participant's policy.
type aggregatorRefused struct{ err error }

func (e *aggregatorRefused) Error() string { return "refused the aggregator: " + e.err.Error() }
func (e *aggregatorRefused) Unwrap() error { return e.err }
