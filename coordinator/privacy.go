package coordinator

import (
	"errors"
	"fmt"
	"math"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/dp"
	"github.com/confed/confed/internal/logging"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// samplingRate is the participant sampling rate of the DP accountant:
// every expected participant is asked to take part in every round.
const samplingRate = 1.0

// privacy is the coordinator's differential-privacy accounting
// (docs/privacy.md): a Rényi-DP accountant over the published training
// rounds, the clip norm of the next round, and the budget.
type privacy struct {
	cfg  roundconfig.Privacy
	acct *dp.Accountant
	// total is the ε spent by the published rounds.
	total float64
	// clip is the clip norm of the next training round (adaptive clipping
	// carries it over from the last published manifest).
	clip float64
	// updateZ is the noise multiplier on the sum of the clipped updates:
	// the round's z, or its share z_Δ next to the clipped count's noise.
	updateZ float64
	// examples is the number of training examples of the last published
	// round (0 before any): δ must stay below 1/examples.
	examples uint64
}

func newPrivacy(cfg roundconfig.Privacy) (*privacy, error) {
	if !cfg.On() {
		return nil, nil
	}
	p := &privacy{cfg: cfg, acct: dp.NewAccountant(nil), clip: cfg.ClipNorm, updateZ: cfg.NoiseMultiplier}
	if a := cfg.AdaptiveClipping; a.Enabled {
		z, err := dp.UpdateNoise(cfg.NoiseMultiplier, a.CountNoiseMultiplier)
		if err != nil {
			return nil, fmt.Errorf("privacy: %w", err)
		}
		p.clip, p.updateZ = a.InitialNorm, z
	}
	return p, nil
}

// privateRound reports whether the next round releases a private
// aggregate. The first round after the initial model collects the pooled
// feature statistics, which are released without DP noise (see
// docs/privacy.md, limits).
func (e *engine) privateRound() bool { return e.priv != nil && e.published > 0 }

// recoverPrivacy replays the published rounds' privacy into the accountant.
// It refuses a store whose training rounds were published without DP while
// the configuration asks for it: those models carry no guarantee, and
// neither would any later one.
func (e *engine) recoverPrivacy(rounds []*confedv1.RoundStatus) error {
	var err error
	if e.priv, err = newPrivacy(e.rc.Privacy); err != nil || e.priv == nil {
		return err
	}
	trained := 0
	for _, st := range rounds {
		if st.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || st.GetRound() == 0 {
			continue
		}
		e.priv.examples = 0
		for _, sub := range st.GetSubmissions() {
			if sub.GetIncluded() {
				e.priv.examples += sub.GetNumExamples()
			}
		}
		trained++
		if trained == 1 {
			continue // the feature-statistics round
		}
		ps := st.GetPrivacy()
		if ps == nil || ps.GetNoiseMultiplier() <= 0 {
			return fmt.Errorf("privacy: round %d was published without differential privacy, so no later model can carry a DP guarantee: start a new federation (database) to run with privacy.mode %s", st.GetRound(), e.rc.Privacy.Mode)
		}
		if err := e.priv.acct.Step(samplingRate, ps.GetNoiseMultiplier(), 1); err != nil {
			return fmt.Errorf("privacy: round %d: %w", st.GetRound(), err)
		}
		if c := ps.GetNextClipNorm(); c > 0 && e.rc.Privacy.AdaptiveClipping.Enabled {
			e.priv.clip = c
		}
	}
	if e.priv.total, err = e.priv.acct.Epsilon(e.rc.Privacy.Delta); err != nil {
		return fmt.Errorf("privacy: %w", err)
	}
	e.log.Info("privacy budget", "mode", e.rc.Privacy.Mode, "epsilon_spent", e.priv.total,
		"epsilon_budget", e.rc.Privacy.EpsilonBudget, "delta", e.rc.Privacy.Delta, "private_rounds", e.priv.acct.Steps())
	return nil
}

// epsilonAfterRound is the total ε the next round would bring.
func (e *engine) epsilonAfterRound() (float64, error) {
	if !e.privateRound() {
		if e.priv == nil {
			return 0, nil
		}
		return e.priv.total, nil
	}
	return e.priv.acct.EpsilonAfter(samplingRate, e.rc.Privacy.NoiseMultiplier, 1, e.rc.Privacy.Delta)
}

// privacyAllowsRound reports whether the next round fits the privacy
// budget. If it does not, the round does not run and the federation
// finishes with a reason naming the budget.
func (e *engine) privacyAllowsRound() bool {
	if !e.privateRound() {
		return true
	}
	eps, err := e.epsilonAfterRound()
	if n := e.priv.examples; err == nil && n > 0 && !(e.rc.Privacy.Delta < 1/float64(n)) {
		err = fmt.Errorf("privacy.delta %g is not below 1/%d, one over the number of training examples of the last round: the guarantee would be meaningless for single records; choose a smaller delta",
			e.rc.Privacy.Delta, n)
	}
	if err == nil && !(eps <= e.rc.Privacy.EpsilonBudget) {
		err = fmt.Errorf("privacy budget exhausted: round %d would bring epsilon to %.4g, above privacy.epsilon_budget %g (delta %g); epsilon spent %.4g over %d private round(s)",
			e.nextRound, eps, e.rc.Privacy.EpsilonBudget, e.rc.Privacy.Delta, e.priv.total, e.priv.acct.Steps())
	}
	if err != nil {
		e.finish(err.Error())
		return false
	}
	return true
}

// privacyParams are the DP parameters of the next round, nil when it
// releases nothing private.
func (e *engine) privacyParams() *confedv1.PrivacyParams {
	if !e.privateRound() {
		return nil
	}
	p := &confedv1.PrivacyParams{Mode: e.rc.Privacy.Mode, NoiseMultiplier: e.priv.updateZ, ClipNorm: e.priv.clip}
	if a := e.rc.Privacy.AdaptiveClipping; a.Enabled {
		p.Adaptive = &confedv1.AdaptiveClipping{TargetQuantile: a.TargetQuantile, LearningRate: a.LearningRate,
			CountNoiseMultiplier: a.CountNoiseMultiplier}
	}
	return p
}

// privacyStatus is the privacy of a round in progress (projected) or
// failed (nothing spent); nil without DP.
func (e *engine) privacyStatus(st *confedv1.RoundStatus) *confedv1.PrivacySpent {
	if e.priv == nil || st.GetRound() == 0 {
		return nil
	}
	ps := e.spentBase()
	if st.GetState() == confedv1.RoundState_ROUND_STATE_FAILED {
		ps.Note = "round failed: nothing was released, nothing spent"
		return ps
	}
	after, err := e.epsilonAfterRound()
	if err != nil {
		after = math.Inf(1)
	}
	ps.EpsilonRound, ps.EpsilonTotal, ps.Projected = after-e.priv.total, after, true
	if !e.privateRound() {
		ps.Note = statisticsNote
	}
	return ps
}

const statisticsNote = "feature-statistics round: the pooled feature moments are released without DP noise (docs/privacy.md)"

func (e *engine) spentBase() *confedv1.PrivacySpent {
	return &confedv1.PrivacySpent{
		Mode: e.rc.Privacy.Mode, EpsilonTotal: e.priv.total, Delta: e.rc.Privacy.Delta,
		NoiseMultiplier: e.rc.Privacy.NoiseMultiplier, EpsilonBudget: e.rc.Privacy.EpsilonBudget,
		ClipNorm: e.priv.clip, NextClipNorm: e.priv.clip,
	}
}

// checkPrivacy refuses the aggregate of a central-DP training round whose
// signed manifest does not record the noise and clipping the round asked for.
func (e *engine) checkPrivacy(mf *confedv1.ModelManifest) error {
	if !e.privateRound() || e.rc.Privacy.Mode != roundconfig.PrivacyCentral {
		return nil
	}
	got, want := mf.GetPrivacy(), e.privacyParams()
	switch {
	case got == nil:
		return fmt.Errorf("round asked for central differential privacy, and the manifest records none")
	case got.GetMode() != want.GetMode() || got.GetNoiseMultiplier() != want.GetNoiseMultiplier() || got.GetClipNorm() != want.GetClipNorm():
		return fmt.Errorf("manifest records DP %s z=%v C=%v, the round asked for %s z=%v C=%v", got.GetMode(),
			got.GetNoiseMultiplier(), got.GetClipNorm(), want.GetMode(), want.GetNoiseMultiplier(), want.GetClipNorm())
	case want.GetAdaptive() != nil && !(got.GetNextClipNorm() > 0 && !math.IsInf(got.GetNextClipNorm(), 0)):
		return fmt.Errorf("manifest records next clip norm %v, want a positive finite number (adaptive clipping)", got.GetNextClipNorm())
	}
	return nil
}

// privacyOnPublish is the privacy of a round being published: its status,
// its ledger record, and keep, which makes it the federation's state once
// the round is committed.
func (e *engine) privacyOnPublish(round uint64, mf *confedv1.ModelManifest) (*confedv1.PrivacySpent, *ledger.Privacy, func(), error) {
	noop := func() {}
	if e.priv == nil || round == 0 {
		return nil, nil, noop, nil
	}
	var examples uint64
	for _, c := range mf.GetContributions() {
		examples += c.GetNumExamples()
	}
	ps := e.spentBase()
	if !e.privateRound() {
		ps.Note = statisticsNote
		return ps, ledgerPrivacy(ps), func() { e.priv.examples = examples }, nil
	}
	acct := e.priv.acct.Clone()
	if err := acct.Step(samplingRate, e.rc.Privacy.NoiseMultiplier, 1); err != nil {
		return nil, nil, noop, err
	}
	total, err := acct.Epsilon(e.rc.Privacy.Delta)
	if err != nil {
		return nil, nil, noop, err
	}
	if math.IsInf(total, 0) || math.IsNaN(total) {
		return nil, nil, noop, errors.New("privacy: epsilon is not finite")
	}
	next := e.priv.clip
	if c := mf.GetPrivacy().GetNextClipNorm(); c > 0 && e.rc.Privacy.AdaptiveClipping.Enabled {
		next = c
	}
	ps.EpsilonRound, ps.EpsilonTotal, ps.NextClipNorm = total-e.priv.total, total, next
	keep := func() {
		e.priv.acct, e.priv.total, e.priv.clip, e.priv.examples = acct, total, next, examples
		e.log.Info("privacy spent", logging.KeyRound, round, "epsilon_round", ps.EpsilonRound, "epsilon_total", total,
			"epsilon_budget", e.rc.Privacy.EpsilonBudget, "delta", e.rc.Privacy.Delta)
	}
	return ps, ledgerPrivacy(ps), keep, nil
}

// privacyFailedRecord is the privacy of a failed round's ledger record.
func (e *engine) privacyFailedRecord(r uint64) *ledger.Privacy {
	if e.priv == nil || r == 0 {
		return nil
	}
	return ledgerPrivacy(e.spentBase())
}

func ledgerPrivacy(ps *confedv1.PrivacySpent) *ledger.Privacy {
	return &ledger.Privacy{
		Mode: ps.GetMode(), EpsilonRound: ps.GetEpsilonRound(), EpsilonTotal: ps.GetEpsilonTotal(), Delta: ps.GetDelta(),
		NoiseMultiplier: ps.GetNoiseMultiplier(), ClipNorm: ps.GetClipNorm(), EpsilonBudget: ps.GetEpsilonBudget(),
	}
}
