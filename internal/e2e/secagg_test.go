package e2e

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/secagg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// secAggConfig is a heart-disease federation with fixed-point aggregation
// and, with mode secagg+, SecAgg+ masking (t = 3, complete graph).
func secAggConfig(expected []string, rounds int, mode string, roundDeadline string) string {
	sa := "secure_aggregation:\n  mode: off\n"
	if mode == "secagg+" {
		sa = "secure_aggregation:\n  mode: secagg+\n  threshold: 3\n  neighbour_degree: 0\n  stage_timeout: 5s\n"
	}
	return roundYAML(roundOpts{rounds: rounds, expected: expected, min: 3, roundDeadline: roundDeadline,
		sections: fixedPointSection(32, "65536") + sa})
}

func hospitalNames(hs []heartdisease.Hospital) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

// TestSecAggFederation runs the four hospitals with SecAgg+ on and off
// (fixed point both times): every round publishes, the training rounds'
// contributions carry no example count (the weights are masked), the
// statistics round stays unmasked, and the pooled accuracy agrees within
// 0.01.
func TestSecAggFederation(t *testing.T) {
	t.Parallel()
	hs := heartdisease.Hospitals
	results := map[string]float64{}
	for _, mode := range []string{"secagg+", "off"} {
		f := newFed(t, hs, secAggConfig(hospitalNames(hs), 4, mode, "30s"))
		ctx, cancel := context.WithCancel(context.Background())
		f.startCoordinator(ctx, f.coordLis)
		f.startAggregator(ctx)
		f.startParticipants(ctx)
		f.waitParticipants(3 * time.Minute)
		op := f.operator(t)
		for r := uint64(1); r <= 4; r++ {
			st, saw := roundOf(ctx, op, r)
			if st.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || included(st) != len(hs) {
				t.Fatalf("%s: %s, want published with %d updates", mode, saw, len(hs))
			}
			for _, s := range st.GetSubmissions() {
				_, clear := s.GetMetrics()["num_examples"]
				masked := mode == "secagg+" && r > 1
				if masked == (s.GetNumExamples() != 0) || (masked && clear) {
					t.Errorf("%s round %d: %s reported %d examples (metric present: %v), want them hidden only in masked rounds",
						mode, r, s.GetParticipant(), s.GetNumExamples(), clear)
				}
			}
		}
		final := f.download(t, op)
		for _, c := range final.Verified.Manifest.GetContributions() {
			if (mode == "secagg+") != (c.GetNumExamples() == 0) {
				t.Errorf("%s: final manifest gives %s %d examples", mode, c.GetParticipant(), c.GetNumExamples())
			}
		}
		want := map[string]string{"secagg+": "fedavg(fixed-point 32, secagg+)", "off": "fedavg(fixed-point 32)"}[mode]
		if got := final.Verified.Manifest.GetStrategy(); got != want {
			t.Errorf("%s: final manifest strategy %q, want %q", mode, got, want)
		}
		results[mode] = pooledAccuracy(t, final, hs)
		cancel()
		f.wg.Wait()
	}
	t.Logf("pooled accuracy: secagg+ %.3f, off %.3f", results["secagg+"], results["off"])
	if results["secagg+"] < 0.7 || math.Abs(results["secagg+"]-results["off"]) > 0.01 {
		t.Errorf("secagg+ accuracy %.3f vs off %.3f: want at least 0.7 and within 0.01", results["secagg+"], results["off"])
	}
}

// dropStage is where a hand-driven participant leaves the session.
type dropStage int

const (
	// dropAfterShareKeys: its shares went out, its masked input never does.
	dropAfterShareKeys dropStage = iota
	// dropAfterInput: its masked input is included, then it vanishes before
	// the consistency stage.
	dropAfterInput
	// dropSilent: it stays connected to the coordinator but never opens
	// its stream: the advertise stage ends at its timeout.
	dropSilent
)

// dropper is a participant driven by the test instead of a daemon: it sends
// an all-zero update in the (unmasked) statistics round, then runs the
// SecAgg+ client of the next round up to its stage and drops out.
type dropper struct {
	f     *fed
	name  string
	stage dropStage
	coord *grpc.ClientConn
	// aggs are the connections to the aggregator for rounds 1 and 2 (the
	// attested handshake, at the first call, binds the round open then).
	aggs [2]*grpc.ClientConn
	tls  pki.Files
}

// newDropper issues name's credentials and dials, from the test goroutine.
func (f *fed) newDropper(t *testing.T, name string, stage dropStage) *dropper {
	d := &dropper{f: f, name: name, stage: stage, tls: pki.Files(f.issue(pki.RoleParticipant, name))}
	d.coord = f.dialAs(t, pki.RoleParticipant, name, f.coordAddr, pki.RoleCoordinator)
	for i := range d.aggs {
		d.aggs[i] = f.dialAs(t, pki.RoleParticipant, name, f.aggAddr, pki.RoleAggregator)
	}
	return d
}

// run follows the tasks until it has dropped out of round 2's session.
func (d *dropper) run(ctx context.Context, t *testing.T) error {
	fc := confedv1.NewFederationClient(d.coord)
	if _, err := fc.Join(ctx, &confedv1.JoinRequest{}); err != nil {
		return err
	}
	tasks, err := fc.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
	if err != nil {
		return err
	}
	for {
		task, err := tasks.Recv()
		if err != nil {
			return err
		}
		if task.GetKind() != confedv1.TaskKind_TASK_KIND_TRAIN {
			continue
		}
		if task.GetRound() == 1 {
			if task.GetSecagg() == nil {
				return errors.New("round 1 carries no secure aggregation session")
			}
			up := honestUpload(1, task.GetGlobalModelSha256(), filled(t, lrSpec(t), 0), 1<<20)
			resp, err := up.send(ctx, confedv1.NewAggregatorClient(d.aggs[0]), d.name)
			if err != nil || !resp.GetAccepted() {
				return fmt.Errorf("statistics round: %v %v", resp, err)
			}
			continue
		}
		if d.stage == dropSilent {
			return nil
		}
		if d.stage == dropAfterInput {
			// A plain update is refused in a masked round, before any data.
			up := honestUpload(task.GetRound(), task.GetGlobalModelSha256(), filled(t, lrSpec(t), 0), 1<<20)
			_, err := up.send(ctx, confedv1.NewAggregatorClient(d.aggs[1]), d.name)
			if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "updates must be masked") {
				return fmt.Errorf("plain update in a masked round: %v, want FailedPrecondition", err)
			}
		}
		return d.session(ctx, t, task)
	}
}

// session runs the SecAgg+ client until the drop-out stage.
func (d *dropper) session(ctx context.Context, t *testing.T, task *confedv1.Task) error {
	tlsCfg, err := pki.ClientTLS(d.tls, "")
	if err != nil {
		return err
	}
	fp := task.GetParams().GetFixedPoint()
	spec := lrSpec(t)
	cfg, err := secagg.Session{Federation: federation, Round: task.GetRound(), Params: task.GetSecagg(),
		FixedPoint: fixedpoint.FromWire(fp.GetBits(), fp.GetClip(), fp.GetScale(), fp.GetMaxWeight(), fp.GetMaxParticipants()),
		Length:     spec.NumParams(), Roots: tlsCfg.RootCAs, Now: time.Now()}.Build()
	if err != nil {
		return err
	}
	c, err := secagg.NewClient(cfg, cfg.IndexOf(d.name), tlsCfg.Certificates[0].PrivateKey.(crypto.Signer))
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel() // the drop-out
	st, err := confedv1.NewSecureAggregatorClient(d.aggs[1]).SecAgg(sctx)
	if err != nil {
		return err
	}
	send := func(b []byte) error {
		return st.Send(&confedv1.SecAggClientFrame{Round: task.GetRound(), Msg: &confedv1.SecAggClientFrame_Signed{Signed: b}})
	}
	adv, err := c.Advertise()
	if err == nil {
		err = send(adv)
	}
	var msg []byte
	if err == nil {
		msg, err = recvServer(st)
	}
	if err == nil {
		msg, err = c.ShareKeys(msg)
	}
	if err == nil {
		err = send(msg)
	}
	if err == nil {
		msg, err = recvServer(st)
	}
	if err != nil || d.stage == dropAfterShareKeys {
		return err
	}
	header, vec, err := c.MaskedInputStream(msg, make([]float32, spec.NumParams()), 1, nil)
	if err != nil {
		return err
	}
	if err := st.Send(&confedv1.SecAggClientFrame{Round: task.GetRound(), Msg: &confedv1.SecAggClientFrame_Signed{Signed: header},
		BaseModelSha256: task.GetGlobalModelSha256()}); err != nil {
		return err
	}
	if err := st.Send(&confedv1.SecAggClientFrame{Round: task.GetRound(),
		Msg: &confedv1.SecAggClientFrame_MaskedChunk{MaskedChunk: &confedv1.SecAggChunk{Data: vec}}}); err != nil {
		return err
	}
	// Half-close: the aggregator takes the input, then sees the stream end
	// before the consistency stage.
	if err := st.CloseSend(); err != nil {
		return err
	}
	for {
		if _, err := st.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func recvServer(st confedv1.SecureAggregator_SecAggClient) ([]byte, error) {
	f, err := st.Recv()
	return f.GetServerMessage(), err
}

// startDroppers runs the droppers; their errors go to the returned channel.
func startDroppers(ctx context.Context, t *testing.T, ds ...*dropper) <-chan error {
	errs := make(chan error, len(ds))
	for _, d := range ds {
		go func() { errs <- d.run(ctx, t) }()
	}
	return errs
}

// TestSecAggDropoutStillPublishes: one of four participants drops out
// after sharing its keys (the aggregator reconstructs its mask key and
// removes its pairwise masks), or never opens its stream (the advertise
// stage ends at its timeout); the three others are enough for t = 3, and
// the round publishes the survivors' mean.
func TestSecAggDropoutStillPublishes(t *testing.T) {
	t.Parallel()
	for name, stage := range map[string]dropStage{"after share keys": dropAfterShareKeys, "silent": dropSilent} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testDropout(t, stage)
		})
	}
}

func testDropout(t *testing.T, stage dropStage) {
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	names := append(hospitalNames(hs), "dropper")
	f := newFed(t, hs, secAggConfig(names, 2, "secagg+", "10s"))
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	d := f.newDropper(t, "dropper", stage)
	f.startCoordinator(ctx, f.coordLis)
	f.startAggregator(ctx)
	dropped := startDroppers(ctx, t, d)
	f.startParticipants(ctx)
	f.waitParticipants(2 * time.Minute)
	if err := <-dropped; err != nil {
		t.Fatalf("dropper: %v", err)
	}
	op := f.operator(t)
	st, saw := roundOf(ctx, op, 2)
	if st.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || included(st) != 3 || submissionOf(st, "dropper") != nil {
		t.Fatalf("%s; want published with the three hospitals only", saw)
	}
	final := f.download(t, op)
	if n := len(final.Verified.Manifest.GetContributions()); n != 3 {
		t.Errorf("final manifest lists %d contributions, want 3", n)
	}
	if acc := pooledAccuracy(t, final, hs); acc < 0.6 {
		t.Errorf("pooled accuracy %.3f after the dropout, want at least 0.6", acc)
	}
}

// TestSecAggTooManyDropoutsFailsClosed: two of four participants vanish
// after their masked inputs were included, before the consistency stage;
// two survivors are fewer than t = 3, so unmasking is impossible and the
// round fails closed with reason secagg_too_few in its status.
func TestSecAggTooManyDropoutsFailsClosed(t *testing.T) {
	t.Parallel()
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1]}
	names := append(hospitalNames(hs), "vanish-a", "vanish-b")
	f := newFed(t, hs, secAggConfig(names, 2, "secagg+", "30s"))
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	da, db := f.newDropper(t, "vanish-a", dropAfterInput), f.newDropper(t, "vanish-b", dropAfterInput)
	f.startCoordinator(ctx, f.coordLis)
	f.startAggregator(ctx)
	dropped := startDroppers(ctx, t, da, db)
	f.startParticipants(ctx)
	op := f.operator(t)
	eventually(t, 2*time.Minute, "round 2 fails", func() (bool, string) {
		st, saw := roundOf(ctx, op, 2)
		return st.GetState() == confedv1.RoundState_ROUND_STATE_FAILED, saw
	})
	for range 2 {
		if err := <-dropped; err != nil {
			t.Errorf("dropper: %v", err)
		}
	}
	st, saw := roundOf(ctx, op, 2)
	if !strings.Contains(st.GetReason(), "secagg_too_few") || included(st) != 4 {
		t.Errorf("%s; want the reason secagg_too_few after all four inputs were included", saw)
	}
	if r1, saw := roundOf(ctx, op, 1); r1.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED {
		t.Errorf("statistics round: %s, want published", saw)
	}
	resp, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.GetRounds() {
		if r.GetRound() >= 2 && r.GetState() == confedv1.RoundState_ROUND_STATE_PUBLISHED {
			t.Errorf("round %d published a model after the session failed", r.GetRound())
		}
	}
}
