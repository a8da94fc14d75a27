package roundconfig

import (
	"math"
	"time"

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
	// StageTimeout bounds how long the aggregator waits for the messages
	// of one protocol stage (advertise keys, share keys, consistency,
	// unmask) from participants whose stream is still open; it must be
	// shorter than timing.round_deadline. Omitted: DefaultStageTimeout.
	StageTimeout yamlcfg.Duration `yaml:"stage_timeout"`
}

// DefaultStageTimeout is the stage timeout when the file sets none.
const DefaultStageTimeout = yamlcfg.Duration(10 * time.Second)

// Stage returns the stage timeout in force.
func (s SecureAggregation) Stage() time.Duration {
	if s.StageTimeout == 0 {
		return time.Duration(DefaultStageTimeout)
	}
	return time.Duration(s.StageTimeout)
}

// Secure aggregation modes.
const (
	SecAggOff  = "off"
	SecAggPlus = "secagg+"
)

// secAggWired says whether the daemons run secure aggregation (they do:
// participant/secagg.go, aggregator/secagg*.go, coordinator/secagg.go).
// Were it false, mode secagg+ would be refused rather than silently
// ignored.
const secAggWired = true

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
	if l.Has("secure_aggregation.stage_timeout") || s.StageTimeout != 0 {
		if err := yamlcfg.CheckDuration(l, "secure_aggregation.stage_timeout", s.StageTimeout, c.Timing.RoundDeadline); err != nil {
			errs = append(errs, err)
		} else if s.StageTimeout >= c.Timing.RoundDeadline {
			errs = append(errs, l.Errorf("secure_aggregation.stage_timeout", "is %s, not shorter than timing.round_deadline %s: keys could not be exchanged before collection closes", s.StageTimeout, c.Timing.RoundDeadline))
		}
	}
	if c.Tree != nil {
		errs = append(errs, l.Errorf("secure_aggregation.mode", "%s runs one session at one aggregator; it cannot be combined with hierarchical aggregation (tree)", SecAggPlus))
	}
	fp := c.Aggregation.FixedPoint
	switch {
	case !fp.Enabled:
		errs = append(errs, l.Errorf("aggregation.fixed_point.enabled", "secure aggregation masks fixed-point updates in the 32-bit ring: set it to true"))
	case fp.Bits != 32:
		errs = append(errs, l.Errorf("aggregation.fixed_point.bits", "is %d: secure aggregation masks updates in the 32-bit ring only", fp.Bits))
	case float64(fp.MaxWeight)*float64(n) >= math.MaxInt32:
		errs = append(errs, l.Errorf("aggregation.fixed_point.max_weight", "%d × %d participants could wrap the weight, which secure aggregation sums in the 32-bit ring", fp.MaxWeight, n))
	}
	if s := c.Aggregation.Strategy; s != "" && s != StrategyFedAvg {
		errs = append(errs, l.Errorf("aggregation.strategy", "is %s, which needs each update, and the aggregator sees only their sum under secure aggregation: use %s", s, StrategyFedAvg))
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
