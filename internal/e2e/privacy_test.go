package e2e

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/dp"
	"github.com/confed/confed/internal/heartdisease"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// privateConfig is a three-hospital federation of the given rounds with
// the given privacy (and other) sections.
func privateConfig(rounds int, privacy string) string {
	return roundYAML(roundOpts{rounds: rounds, min: 3, sections: privacy})
}

// runPrivate runs a federation to its end and returns what the Operator
// API shows of it and the ledger.
func runPrivate(t *testing.T, cfg string) (*confedv1.ListRoundsResponse, []ledger.Record, *confedv1.ModelManifest) {
	t.Helper()
	resp, recs, mf, _ := runPrivateFed(t, cfg)
	return resp, recs, mf
}

func runPrivateFed(t *testing.T, cfg string) (*confedv1.ListRoundsResponse, []ledger.Record, *confedv1.ModelManifest, *fed) {
	t.Helper()
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, hs, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	f.startCoordinator(ctx, f.coordLis)
	f.startAggregator(ctx)
	f.startParticipants(ctx)
	f.waitParticipants(2 * time.Minute)
	op := f.operator(t)
	resp, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	entries := f.ledgerEntries(t, op)
	if _, err := ledger.Verify(entries, ledger.VerifyOptions{RequireEvidence: true}); err != nil {
		t.Fatalf("ledger does not verify: %v", err)
	}
	var recs []ledger.Record
	for _, e := range entries {
		r, err := ledger.Parse(e.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return resp, recs, f.download(t, op).Verified.Manifest, f
}

// expectedEpsilon is the accountant's ε after steps rounds of noise z at delta.
func expectedEpsilon(t *testing.T, z float64, steps int, delta float64) float64 {
	t.Helper()
	a := dp.NewAccountant(nil)
	if err := a.Step(1, z, steps); err != nil {
		t.Fatal(err)
	}
	eps, err := a.Epsilon(delta)
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// checkPrivacyTrail checks each round's privacy in the round statuses and
// in the ledger records: round 1 (the feature statistics) spends nothing,
// training round k brings the total to the accountant's ε after k−1 steps.
func checkPrivacyTrail(t *testing.T, resp *confedv1.ListRoundsResponse, recs []ledger.Record, z, delta float64) {
	t.Helper()
	byRound := map[uint64]*ledger.Privacy{}
	for _, r := range recs {
		if r.Kind == ledger.KindRound && r.Round > 0 {
			if r.Privacy == nil {
				t.Fatalf("ledger record of round %d carries no privacy", r.Round)
			}
			byRound[r.Round] = r.Privacy
		}
	}
	for _, st := range resp.GetRounds() {
		if st.GetRound() == 0 {
			continue
		}
		ps := st.GetPrivacy()
		if ps == nil || st.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || ps.GetProjected() {
			t.Fatalf("round %d: state %v, privacy %+v", st.GetRound(), st.GetState(), ps)
		}
		want := expectedEpsilon(t, z, int(st.GetRound())-1, delta)
		if st.GetRound() == 1 {
			want = 0
		}
		if math.Abs(ps.GetEpsilonTotal()-want) > 1e-9 || ps.GetDelta() != delta || ps.GetNoiseMultiplier() != z {
			t.Errorf("round %d: epsilon_total %v delta %v z %v, want %v %v %v", st.GetRound(), ps.GetEpsilonTotal(), ps.GetDelta(), ps.GetNoiseMultiplier(), want, delta, z)
		}
		if (st.GetRound() == 1) != (ps.GetEpsilonRound() == 0) {
			t.Errorf("round %d: epsilon_round %v", st.GetRound(), ps.GetEpsilonRound())
		}
		lp := byRound[st.GetRound()]
		if lp == nil || lp.EpsilonTotal != ps.GetEpsilonTotal() || lp.EpsilonRound != ps.GetEpsilonRound() || lp.Delta != delta {
			t.Errorf("round %d: ledger privacy %+v, round status %+v", st.GetRound(), lp, ps)
		}
		t.Logf("round %d: epsilon_round %.4f epsilon_total %.4f (delta %g, clip %.4f)", st.GetRound(), ps.GetEpsilonRound(), ps.GetEpsilonTotal(), delta, ps.GetClipNorm())
	}
}

// TestPrivacyCentral runs three rounds with central DP and adaptive
// clipping: the aggregator clips and noises, the signed manifest says so,
// and the round statuses and the ledger carry the accountant's ε.
func TestPrivacyCentral(t *testing.T) {
	const z, delta = 1.0, 1e-5
	resp, recs, mf := runPrivate(t, privateConfig(3, `privacy:
  mode: central
  noise_multiplier: 1.0
  adaptive_clipping:
    enabled: true
    target_quantile: 0.5
    learning_rate: 0.2
    initial_norm: 0.5
    count_noise_multiplier: 2
  delta: 1e-5
  epsilon_budget: 100
`))
	if !resp.GetFinished() || len(resp.GetRounds()) != 4 || resp.GetFinishReason() != "all 3 rounds published" {
		t.Fatalf("finished=%v rounds=%d reason %q", resp.GetFinished(), len(resp.GetRounds()), resp.GetFinishReason())
	}
	checkPrivacyTrail(t, resp, recs, z, delta)
	p := mf.GetPrivacy()
	zUpdate, _ := dp.UpdateNoise(z, 2)
	if p.GetMode() != "central" || p.GetNoiseMultiplier() != zUpdate || !(p.GetNoiseStddev() > 0) || !(p.GetNextClipNorm() > 0) {
		t.Fatalf("manifest of round 3 records privacy %+v, want central with z_Δ %v, noise and a next clip norm", p, zUpdate)
	}
	if r3 := resp.GetRounds()[3].GetPrivacy(); r3.GetClipNorm() != p.GetClipNorm() || r3.GetNextClipNorm() != p.GetNextClipNorm() {
		t.Errorf("round 3 status clip %v → %v, manifest %v → %v", r3.GetClipNorm(), r3.GetNextClipNorm(), p.GetClipNorm(), p.GetNextClipNorm())
	}
	if r2, r3 := resp.GetRounds()[2].GetPrivacy(), resp.GetRounds()[3].GetPrivacy(); r3.GetClipNorm() != r2.GetNextClipNorm() || r2.GetClipNorm() != 0.5 {
		t.Errorf("clip norms: round 2 %v → %v, round 3 %v; want 0.5 first, then carried over", r2.GetClipNorm(), r2.GetNextClipNorm(), r3.GetClipNorm())
	}
}

// TestPrivacyBudgetStops runs local DP with a budget that one training
// round fits and two do not: the federation publishes the statistics
// round and one training round, then finishes, naming the budget, without
// running the round that would exceed it.
func TestPrivacyBudgetStops(t *testing.T) {
	const z, delta, budget = 1.0, 1e-5, 6.0
	one, two := expectedEpsilon(t, z, 1, delta), expectedEpsilon(t, z, 2, delta)
	if !(one <= budget && two > budget) {
		t.Fatalf("test set-up: epsilon after one round %v, after two %v, budget %v", one, two, budget)
	}
	resp, recs, mf, f := runPrivateFed(t, privateConfig(5, `privacy:
  mode: local
  noise_multiplier: 1.0
  clip_norm: 0.5
  delta: 1e-5
  epsilon_budget: 6
`))
	if !resp.GetFinished() || len(resp.GetRounds()) != 3 {
		t.Fatalf("finished=%v with %d rounds (want rounds 0..2 and no more)", resp.GetFinished(), len(resp.GetRounds()))
	}
	reason := resp.GetFinishReason()
	for _, want := range []string{"privacy budget exhausted", "round 3", "privacy.epsilon_budget 6"} {
		if !strings.Contains(reason, want) {
			t.Errorf("finish reason %q does not contain %q", reason, want)
		}
	}
	checkPrivacyTrail(t, resp, recs, z, delta)
	if got := resp.GetRounds()[2].GetPrivacy().GetEpsilonTotal(); got > budget {
		t.Errorf("epsilon spent %v exceeds the budget %v", got, budget)
	}
	if mf.GetRound() != 2 || mf.GetPrivacy() != nil {
		t.Errorf("latest model is round %d with aggregator privacy %+v; want round 2, noised by the participants (local)", mf.GetRound(), mf.GetPrivacy())
	}

	// A coordinator restarted on the same file replays the spent budget
	// from the stored rounds and finishes at once, without an aggregator.
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	lis := listen(t)
	f.coordAddr = lis.Addr().String()
	f.startCoordinator(ctx, lis)
	op := f.operator(t)
	eventually(t, 10*time.Second, "the restarted coordinator finishes on the spent budget", func() (bool, string) {
		r, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
		if err != nil {
			return false, err.Error()
		}
		return r.GetFinished() && strings.Contains(r.GetFinishReason(), "epsilon spent 4.729 over 1 private round(s)"), r.GetFinishReason()
	})
}

// TestPrivacyRefusesNonPrivateHistory: a federation that published a
// training round without DP cannot be continued with DP on: the restarted
// coordinator refuses to start, naming the round.
func TestPrivacyRefusesNonPrivateHistory(t *testing.T) {
	_, _, _, f := runPrivateFed(t, privateConfig(2, ""))
	cfg := privateConfig(4, `privacy:
  mode: central
  noise_multiplier: 1.0
  clip_norm: 0.5
  delta: 1e-5
  epsilon_budget: 100
`)
	if err := os.WriteFile(f.roundConfig, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	lis := listen(t)
	f.coordAddr = lis.Addr().String()
	select {
	case err := <-f.startCoordinatorOn(ctx, lis, testLogger(t, "coordinator")):
		if err == nil || !strings.Contains(err.Error(), "round 2 was published without differential privacy") {
			t.Fatalf("restart with DP on: %v, want a refusal naming round 2", err)
		}
		<-f.errs
	case <-time.After(30 * time.Second):
		t.Fatal("the coordinator started on a history without DP")
	}
}

// TestPrivacyCentralFixedPoint: central DP over the fixed-point ring sum
// (the aggregator clips the quantised updates and noises the dequantised
// mean).
func TestPrivacyCentralFixedPoint(t *testing.T) {
	resp, recs, mf := runPrivate(t, privateConfig(2, `aggregation:
  fixed_point:
    enabled: true
privacy:
  mode: central
  noise_multiplier: 2.0
  clip_norm: 0.3
  delta: 1e-6
  epsilon_budget: 10
`))
	if !resp.GetFinished() || len(resp.GetRounds()) != 3 {
		t.Fatalf("finished=%v rounds=%d reason %q", resp.GetFinished(), len(resp.GetRounds()), resp.GetFinishReason())
	}
	checkPrivacyTrail(t, resp, recs, 2, 1e-6)
	if p := mf.GetPrivacy(); p.GetMode() != "central" || p.GetClipNorm() != 0.3 || p.GetNoiseMultiplier() != 2 || !(p.GetNoiseStddev() > 0) {
		t.Fatalf("manifest privacy %+v", p)
	}
	if !strings.Contains(mf.GetStrategy(), "fixed-point") {
		t.Fatalf("strategy %q: the round did not use the ring", mf.GetStrategy())
	}
}

// TestPrivacyDeltaAboveOneOverExamples: a δ that the configuration accepts
// (below 1/participants) but that is not below one over the number of
// training examples stops the federation before its first private round.
func TestPrivacyDeltaAboveOneOverExamples(t *testing.T) {
	resp, _, _ := runPrivate(t, privateConfig(3, `privacy:
  mode: central
  noise_multiplier: 1.0
  clip_norm: 0.5
  delta: 0.003
  epsilon_budget: 100
`))
	if !resp.GetFinished() || len(resp.GetRounds()) != 2 || !strings.Contains(resp.GetFinishReason(), "privacy.delta 0.003 is not below 1/") {
		t.Fatalf("finished=%v with %d rounds, reason %q; want rounds 0..1 and a reason naming privacy.delta", resp.GetFinished(), len(resp.GetRounds()), resp.GetFinishReason())
	}
	t.Log(resp.GetFinishReason())
}
