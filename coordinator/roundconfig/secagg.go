package roundconfig

import (
	"math"

	"github.com/confed/confed/internal/secagg"
	"github.com/confed/confed/internal/yamlcfg"
)

// SecureAggregation is SecAgg+ secure aggregation
// (docs/secure-aggregation.md): participants mask their fixed-point updates
// so that the aggregator learns only their sum, even if its TEE were broken.
// The ring and the quantisation (clip, scale, bits, max_weight) are those of
// aggregation.fixed_point, which must be enabled. The zero value is mode off.
type SecureAggregation struct {
	// Mode is off (default) or secagg+.
	Mode string `yaml:"mode"`
	// Threshold t is how many shares reconstruct a participant's secrets:
	// more than half of the parties holding them (the participant and its
	// neighbours) and at most all of them. Required with secagg+.
	Threshold int `yaml:"threshold"`
	// NeighbourDegree is the number of neighbours of each participant in
	// the SecAgg+ graph: 0 (default) for the complete graph (plain SecAgg,
	// right for federations of tens of institutions), otherwise even; how to
	// choose it is in docs/secure-aggregation.md.
	NeighbourDegree int `yaml:"neighbour_degree"`
}

// Secure aggregation modes.
const (
	SecAggOff  = "off"
	SecAggPlus = "secagg+"
)

// secAggWired says whether the daemons run secure aggregation. Until they
// do, mode secagg+ is refused rather than silently ignored; the rest of the
// section is still checked, so that one error does not hide others.
const secAggWired = false

// On reports whether secure aggregation is configured.
func (s SecureAggregation) On() bool { return s.Mode == SecAggPlus }

// validateSecAgg checks the secure_aggregation section against the rest.
func (c Config) validateSecAgg(l *yamlcfg.Locator) error {
	s := c.SecureAggregation
	if s.Mode == "" || s.Mode == SecAggOff {
		if s != (SecureAggregation{Mode: s.Mode}) {
			return l.Errorf("secure_aggregation.mode", "is %s, but other secure_aggregation keys are set: set mode %s, or remove them", SecAggOff, SecAggPlus)
		}
		return nil
	}
	if err := l.OneOf("secure_aggregation.mode", s.Mode, SecAggOff, SecAggPlus); err != nil {
		return err
	}
	n := len(c.Participants.Expected)
	var errs []error
	if !secAggWired {
		errs = append(errs, l.Errorf("secure_aggregation.mode", "%s is implemented (internal/secagg) but not yet wired into the participants and the aggregator: a round would run without it, so it is refused", SecAggPlus))
	}
	if s.Threshold == 0 && !l.Has("secure_aggregation.threshold") {
		errs = append(errs, l.Required("secure_aggregation.threshold", "the number of shares that reconstruct a secret, more than half of the participant and its neighbours"))
	} else if err := secagg.CheckThreshold(n, s.NeighbourDegree, s.Threshold); err != nil {
		errs = append(errs, l.Errorf("secure_aggregation.threshold", "with %d expected participants and neighbour_degree %d: %v", n, s.NeighbourDegree, err))
	} else if c.Participants.Min >= 1 && c.Participants.Min < s.Threshold {
		errs = append(errs, l.Errorf("participants.min", "is %d, below secure_aggregation.threshold %d: a round could start with fewer participants than unmasking needs", c.Participants.Min, s.Threshold))
	}
	fp := c.Aggregation.FixedPoint
	switch {
	case !fp.Enabled:
		errs = append(errs, l.Errorf("aggregation.fixed_point.enabled", "secure aggregation masks fixed-point updates in the 32-bit ring: set it to true"))
	case float64(fp.MaxWeight)*float64(n) >= math.MaxInt32:
		errs = append(errs, l.Errorf("aggregation.fixed_point.max_weight", "%d × %d participants could wrap the weight, which secure aggregation sums in the 32-bit ring", fp.MaxWeight, n))
	}
	if c.Aggregation.MaxUpdateNorm != 0 {
		errs = append(errs, l.Errorf("aggregation.max_update_norm", "the aggregator sees only masked updates under secure aggregation and cannot check their norm: set 0 (fixed_point.clip bounds each coordinate)"))
	}
	if c.Aggregation.ClipNorm != 0 {
		errs = append(errs, l.Errorf("aggregation.clip_norm", "the aggregator sees only masked updates under secure aggregation and cannot clip them: set 0 (fixed_point.clip bounds each coordinate)"))
	}
	if c.Privacy.Mode == PrivacyCentral {
		errs = append(errs, l.Errorf("privacy.mode", "central DP clips each update at the aggregator, which sees only masked updates under secure aggregation: use local, or turn secure aggregation off"))
	}
	return yamlcfg.Join(errs...)
}
