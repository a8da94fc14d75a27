package coordinator

import (
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/confed/confed/coordinator/dashboard"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/tee"
)

// viewState is what the coordinator keeps only to show it: the dashboard's
// view of events that change no round.
type viewState struct {
	aggRefusal *dashboard.Refusal
}

// aggregatorRefused remembers why an aggregator was refused.
func (e *engine) aggregatorRefused(name string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.view.aggRefusal = &dashboard.Refusal{Peer: name, Reason: err.Error(), At: e.now().UTC()}
	e.notify()
}

// dashboardSource gives the dashboard read-only snapshots of the engine.
type dashboardSource struct{ e *engine }

var _ dashboard.Source = dashboardSource{}

func (s dashboardSource) Subscribe() (<-chan struct{}, func()) { return s.e.subscribe() }

func (s dashboardSource) Done() <-chan struct{} { return s.e.shutdown }

// Overview reads the rounds and participants from the store, then the
// in-memory state under the engine's lock.
func (s dashboardSource) Overview() (dashboard.Overview, error) {
	e := s.e
	rounds, err := e.store.Rounds()
	if err != nil {
		return dashboard.Overview{}, fmt.Errorf("dashboard overview: %w", err)
	}
	sort.Slice(rounds, func(i, j int) bool { return rounds[i].GetRound() < rounds[j].GetRound() })
	stored, err := e.store.Participants()
	if err != nil {
		return dashboard.Overview{}, fmt.Errorf("dashboard overview: %w", err)
	}
	now := e.now()
	o := dashboard.Overview{
		Federation: e.rc.Federation, ConfigSHA256: hexs(e.cfgSHA[:]), PlannedRounds: e.rc.Rounds,
		Insecure: e.insecure(), Aggregation: aggregationView(e.rc), GeneratedAt: now.UTC(),
		SecureAggregation: secAggView(e.rc.SecureAggregation), Privacy: privacyView(e.rc.Privacy),
		Rounds: []dashboard.RoundSummary{},
	}
	for _, st := range rounds {
		o.Rounds = append(o.Rounds, roundSummary(st, now))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o.PublishedRounds, o.Finished, o.FinishMessage = e.published, e.finished, e.finishMsg
	if e.priv != nil && o.Privacy != nil {
		spent := dashboard.Number(e.priv.total)
		o.Privacy.Spent = &spent
	}
	if e.m != nil {
		r := e.m.Round()
		o.CurrentRound = &r
	}
	o.Aggregator = e.aggregatorView()
	o.Participants = e.participantViews(stored, rounds)
	return o, nil
}

// aggregatorView needs e.mu.
func (e *engine) aggregatorView() dashboard.AggregatorView {
	v := dashboard.AggregatorView{Address: e.aggAddr, TEE: e.rc.TEE.Aggregator, LastRefusal: e.view.aggRefusal}
	if e.agg != nil {
		v.Connected, v.Name = true, e.agg.name
		v.Attestation = attestationOf(e.agg.claims)
	}
	return v
}

func attestationOf(c tee.Claims) *dashboard.Attestation {
	a := &dashboard.Attestation{Kind: c.Kind, Insecure: c.Insecure, Measurement: hex.EncodeToString(c.Measurement),
		TCB: c.TCB, Debug: c.Debug, Details: c.Details}
	if !c.VerifiedAt.IsZero() {
		t := c.VerifiedAt.UTC()
		a.VerifiedAt = &t
	}
	return a
}

func aggregationView(rc roundconfig.Config) dashboard.AggregationView {
	a := rc.Aggregation
	v := dashboard.AggregationView{
		Strategy: a.Strategy, TrimFraction: a.TrimFraction, Byzantine: a.Byzantine, MultiKrumM: a.MultiKrumM,
		ClipNorm: a.ClipNorm, MaxUpdateNorm: a.MaxUpdateNorm, MaxUpdateBytes: uint64(a.MaxUpdateBytes),
		MinParticipants: rc.Participants.Min, Expected: rc.Participants.Expected, ParticipantsTEE: rc.TEE.Participants,
	}
	if opt, err := a.ServerOptimizer.Resolved(); err == nil {
		v.ServerOptimizer = map[string]string{"name": opt.Name, "server_lr": fmt.Sprint(opt.ServerLR)}
		switch opt.Name {
		case "fedavgm":
			v.ServerOptimizer["momentum"] = fmt.Sprint(opt.Momentum)
		case "fedadam", "fedyogi", "fedadagrad":
			v.ServerOptimizer["beta1"] = fmt.Sprint(opt.Beta1)
			v.ServerOptimizer["beta2"] = fmt.Sprint(opt.Beta2)
			v.ServerOptimizer["tau"] = fmt.Sprint(opt.Tau)
		}
	}
	if f := a.FixedPoint; f.Enabled {
		v.FixedPoint = &dashboard.FixedPointView{Bits: f.Bits, Clip: f.Clip, Scale: f.Scale, MaxWeight: f.MaxWeight}
	}
	return v
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// participantAttestation says what a participant must attest to.
func participantAttestation(rc roundconfig.Config) string {
	switch k := rc.TEE.Participants; k {
	case roundconfig.TEENone:
		return "not required"
	case roundconfig.TEESimulated:
		return "INSECURE simulated TEE, checked by the aggregator on each submission"
	default:
		return k + " required, verified by the aggregator on each submission (claims stay in the aggregator)"
	}
}

// secAggView is the secure_aggregation section as configured; nil (off)
// when its mode is off.
func secAggView(c roundconfig.SecureAggregation) *dashboard.FeatureView {
	if !c.On() {
		return nil
	}
	return &dashboard.FeatureView{Enabled: true, Settings: map[string]string{
		"mode": c.Mode, "threshold": fmt.Sprint(c.Threshold), "neighbour_degree": fmt.Sprint(c.NeighbourDegree),
		"stage_timeout": c.Stage().String(),
		"masked":        "training rounds; the feature-statistics round (round 1) is not masked",
	}}
}

// privacyView is the privacy section as configured; nil (off) when its
// mode is off. Budget is epsilon_budget. Spent is left unset here:
// Overview fills it in from the privacy accounting (privacy.go) under the
// engine's lock.
func privacyView(c roundconfig.Privacy) *dashboard.FeatureView {
	if !c.On() {
		return nil
	}
	set := map[string]string{"mode": c.Mode, "noise_multiplier": fmt.Sprint(c.NoiseMultiplier), "delta": fmt.Sprint(c.Delta)}
	if a := c.AdaptiveClipping; a.Enabled {
		set["clipping"] = fmt.Sprintf("adaptive (target quantile %v, initial norm %v)", a.TargetQuantile, a.InitialNorm)
	} else {
		set["clip_norm"] = fmt.Sprint(c.ClipNorm)
	}
	budget := dashboard.Number(c.EpsilonBudget)
	return &dashboard.FeatureView{Enabled: true, Settings: set, Budget: &budget}
}
