package roundconfig

import (
	"math"

	"github.com/confed/confed/internal/yamlcfg"
)

// Privacy is the federation's differential privacy (docs/privacy.md): the
// unit protected is one participant's update in each round (user-level DP
// across institutions). The zero value is mode off.
type Privacy struct {
	// Mode is off (default), central (the aggregator clips every update
	// and adds Gaussian noise to the sum once) or local (each participant
	// clips and noises its own update before sealing it).
	Mode string `yaml:"mode"`
	// NoiseMultiplier z is the noise standard deviation divided by the
	// clip norm, > 0. With adaptive clipping it is the round's overall z,
	// shared between the update and the clipped count.
	NoiseMultiplier float64 `yaml:"noise_multiplier"`
	// ClipNorm is the fixed L2 norm every update is clipped to, > 0;
	// exactly one of clip_norm and adaptive_clipping.
	ClipNorm float64 `yaml:"clip_norm"`
	// AdaptiveClipping replaces the fixed clip norm (central mode only).
	AdaptiveClipping AdaptiveClipping `yaml:"adaptive_clipping"`
	// Delta is the δ of the (ε, δ) guarantee: 0 < δ < 1/len(participants.expected).
	Delta float64 `yaml:"delta"`
	// EpsilonBudget is the largest total ε the federation may spend; a
	// round that would exceed it does not run, and the federation finishes.
	EpsilonBudget float64 `yaml:"epsilon_budget"`
}

// AdaptiveClipping is quantile-based adaptive clipping (Andrew et al. 2021).
type AdaptiveClipping struct {
	Enabled bool `yaml:"enabled"`
	// TargetQuantile is the share of updates that should be within the
	// clip norm, 0 < γ < 1 (0.5 is the paper's choice).
	TargetQuantile float64 `yaml:"target_quantile"`
	// LearningRate is η of C ← C·exp(−η(b̄ − γ)), > 0 (the paper uses 0.2).
	LearningRate float64 `yaml:"learning_rate"`
	// InitialNorm is the clip norm of the first training round, > 0.
	InitialNorm float64 `yaml:"initial_norm"`
	// CountNoiseMultiplier σ_b is the noise on the count of unclipped
	// updates; it must exceed noise_multiplier/2 (the paper suggests the
	// number of participants / 20, which few institutions cannot afford).
	CountNoiseMultiplier float64 `yaml:"count_noise_multiplier"`
}

// Privacy modes.
const (
	PrivacyOff     = "off"
	PrivacyCentral = "central"
	PrivacyLocal   = "local"
)

var privacyModes = []string{PrivacyOff, PrivacyCentral, PrivacyLocal}

// On reports whether differential privacy is configured.
func (p Privacy) On() bool { return p.Mode == PrivacyCentral || p.Mode == PrivacyLocal }

// validatePrivacy checks the privacy section against the rest.
func (c Config) validatePrivacy(l *yamlcfg.Locator) error {
	p := c.Privacy
	if p.Mode == "" || p.Mode == PrivacyOff {
		if p != (Privacy{Mode: p.Mode}) {
			return l.Errorf("privacy.mode", "is %s, but other privacy keys are set: set mode central or local, or remove them", PrivacyOff)
		}
		return nil
	}
	if err := l.OneOf("privacy.mode", p.Mode, privacyModes...); err != nil {
		return err
	}
	errs := []error{
		positive(l, "privacy.noise_multiplier", p.NoiseMultiplier, "e.g. 1.0"),
		positive(l, "privacy.epsilon_budget", p.EpsilonBudget, "e.g. 8"),
		c.validateDelta(l),
		c.validateClipping(l),
	}
	if p.Mode == PrivacyCentral && c.SecureAggregation.On() {
		errs = append(errs, l.Errorf("privacy.mode", "central DP clips each update at the aggregator, and secure_aggregation hides the individual updates from it: use mode %s with secure aggregation", PrivacyLocal))
	}
	if p.Mode == PrivacyCentral && c.Aggregation.Strategy != StrategyFedAvg {
		errs = append(errs, l.Errorf("privacy.mode", "central DP bounds the sensitivity of the (weighted) mean, so it needs aggregation.strategy fedavg, got %q (local DP works with any strategy)", c.Aggregation.Strategy))
	}
	return yamlcfg.Join(errs...)
}

// positive requires a finite v > 0.
func positive(l *yamlcfg.Locator, key string, v float64, example string) error {
	switch {
	case v == 0 && !l.Has(key):
		return l.Required(key, "a number > 0 ("+example+")")
	case !(v > 0) || math.IsInf(v, 0):
		return l.Errorf(key, "must be a finite number > 0, got %v", v)
	}
	return nil
}

// validateDelta requires 0 < δ < 1/n: with n participants (the protected
// units), δ ≥ 1/n would allow a mechanism that publishes one participant's
// update outright with probability δ.
func (c Config) validateDelta(l *yamlcfg.Locator) error {
	d, n := c.Privacy.Delta, len(c.Participants.Expected)
	if err := positive(l, "privacy.delta", d, "e.g. 1e-5"); err != nil {
		return err
	}
	if n > 0 && d >= 1/float64(n) {
		return l.Errorf("privacy.delta", "must be below 1/%d (1 / the number of expected participants, the units DP protects), got %v: choose δ much smaller, e.g. 1e-5", n, d)
	}
	return nil
}

func (c Config) validateClipping(l *yamlcfg.Locator) error {
	p := c.Privacy
	a := p.AdaptiveClipping
	if !a.Enabled {
		if a != (AdaptiveClipping{}) {
			return l.Errorf("privacy.adaptive_clipping.enabled", "is false, but other adaptive_clipping keys are set: enable it or remove them")
		}
		return positive(l, "privacy.clip_norm", p.ClipNorm, "the L2 norm updates are clipped to, or adaptive_clipping")
	}
	if p.ClipNorm != 0 {
		return l.Errorf("privacy.clip_norm", "set together with adaptive_clipping: choose one (adaptive_clipping.initial_norm is the first round's norm)")
	}
	if p.Mode != PrivacyCentral {
		return l.Errorf("privacy.adaptive_clipping.enabled", "adaptive clipping needs mode %s (the aggregator counts the clipped updates), got %s", PrivacyCentral, p.Mode)
	}
	errs := []error{
		positive(l, "privacy.adaptive_clipping.learning_rate", a.LearningRate, "0.2"),
		positive(l, "privacy.adaptive_clipping.initial_norm", a.InitialNorm, "e.g. 0.1"),
		positive(l, "privacy.adaptive_clipping.count_noise_multiplier", a.CountNoiseMultiplier, "above noise_multiplier/2"),
	}
	if !(a.TargetQuantile > 0 && a.TargetQuantile < 1) {
		errs = append(errs, l.Errorf("privacy.adaptive_clipping.target_quantile", "must be between 0 and 1 (exclusive), got %v", a.TargetQuantile))
	}
	if z := p.NoiseMultiplier; z > 0 && a.CountNoiseMultiplier > 0 && !(2*a.CountNoiseMultiplier > z) {
		errs = append(errs, l.Errorf("privacy.adaptive_clipping.count_noise_multiplier",
			"must exceed noise_multiplier/2 = %v, got %v: the noised count would spend the whole budget (Andrew et al. 2021, Theorem 1)", z/2, a.CountNoiseMultiplier))
	}
	return yamlcfg.Join(errs...)
}
