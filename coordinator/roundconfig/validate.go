package roundconfig

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
)

// Limits of the values Validate accepts.
const (
	MaxRounds      = 100000
	MaxFeatures    = 50_000_000
	MaxLocalEpochs = 1000
	MaxBatchSize   = 1000000
	MaxLearnRate   = 10
	// bytesPerParam is the size of one float32 model parameter, the least
	// any encoding of an update takes.
	bytesPerParam = 4
)

// Upper bounds of the timing keys.
const (
	maxJoinTimeout      = yamlcfg.Duration(168 * time.Hour)
	maxReadyTimeout     = yamlcfg.Duration(time.Hour)
	maxRoundDeadline    = yamlcfg.Duration(24 * time.Hour)
	maxAggregateTimeout = yamlcfg.Duration(24 * time.Hour)
)

// nameRE is the syntax of federation and participant names: a DNS label in
// lowercase.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

const nameRule = "lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters"

// Validate checks every key and returns all problems, ordered by line. For
// a parsed Config the errors name file, line and key; for one built in code
// they name the key.
func (c Config) Validate() error {
	l := c.loc
	return yamlcfg.Join(
		c.validateFederation(l),
		yamlcfg.InRange(l, "rounds", c.Rounds, 1, MaxRounds),
		c.Model.validate(l),
		c.Participants.validate(l),
		c.Timing.validate(l),
		c.Training.validate(l),
		c.Aggregation.validate(l, c.Model),
		c.validateRobust(l),
		c.validateFixedPoint(l),
		c.TEE.validate(l),
		c.validatePrivacy(l),
		c.validateSecAgg(l),
		c.validateTree(l),
	)
}

// validateRobust checks that the robust rule works with the fewest updates
// a round may aggregate (participants.min).
func (c Config) validateRobust(l *yamlcfg.Locator) error {
	r := c.Aggregation.Robust()
	if r == nil || !slices.Contains(strategies, c.Aggregation.Strategy) || c.Participants.Min < 1 {
		return nil
	}
	if err := r.Validate(c.Participants.Min); err != nil {
		return l.Errorf("aggregation", "with participants.min = %d: %v", c.Participants.Min, err)
	}
	if m := r.MinAveraged(c.Participants.Min); m < aggregatorMinUpdates {
		return l.Errorf("aggregation", "with participants.min = %d, %s would take each coordinate from %d update(s), "+
			"and aggregators refuse fewer than %d by default (their min_updates): raise participants.min or trim less",
			c.Participants.Min, r.Name, m, aggregatorMinUpdates)
	}
	return nil
}

// validateFixedPoint checks that the ring cannot wrap for this federation.
func (c Config) validateFixedPoint(l *yamlcfg.Locator) error {
	f := c.Aggregation.FixedPoint
	if !f.Enabled {
		return nil
	}
	switch {
	case f.Bits != 32 && f.Bits != 64:
		return l.Errorf("aggregation.fixed_point.bits", "must be 32 or 64, got %d", f.Bits)
	case f.Bits == 64 && c.SecureAggregation.Mode != "" && c.SecureAggregation.Mode != SecAggOff:
		return l.Errorf("aggregation.fixed_point.bits", "secure aggregation masks in the 32-bit ring: set bits to 32, got %d", f.Bits)
	case c.Aggregation.Strategy != StrategyFedAvg:
		return l.Errorf("aggregation.fixed_point.enabled", "fixed point sums updates, so it needs strategy fedavg, got %q", c.Aggregation.Strategy)
	}
	if err := f.Params(len(c.Participants.Expected)).Validate(); err != nil {
		return l.Errorf("aggregation.fixed_point", "%v", err)
	}
	return nil
}

// aggregatorMinUpdates is the aggregators' default min_updates: the fewest
// updates each coordinate of a published model must combine.
const aggregatorMinUpdates = 2

func (c Config) validateFederation(l *yamlcfg.Locator) error {
	switch {
	case c.Federation == "":
		return l.Required("federation", `a name such as "heart-disease"`)
	case !nameRE.MatchString(c.Federation):
		return l.Errorf("federation", "must be %s, got %q", nameRule, c.Federation)
	}
	return nil
}

func (m ModelSpec) validate(l *yamlcfg.Locator) error {
	return yamlcfg.Join(
		l.OneOf("model.kind", m.Kind, modelKinds...),
		yamlcfg.InRange(l, "model.features", m.Features, 1, MaxFeatures),
		l.OneOf("model.init", m.Init, inits...),
	)
}

func (p Participants) validate(l *yamlcfg.Locator) error {
	const key = "participants.expected"
	if len(p.Expected) == 0 {
		if l.Has(key) {
			return l.Errorf(key, "must name at least one participant, got an empty list")
		}
		return l.Required(key, "a list of participant names such as [cleveland, hungary]")
	}
	var errs []error
	first := make(map[string]int)
	for i, name := range p.Expected {
		item := fmt.Sprintf("%s[%d]", key, i)
		if j, dup := first[name]; dup {
			errs = append(errs, l.Errorf(item, "duplicate participant %q (already listed as %s[%d])", name, key, j))
			continue
		}
		first[name] = i
		if !nameRE.MatchString(name) {
			errs = append(errs, l.Errorf(item, "participant names must be %s, got %q", nameRule, name))
		}
	}
	if p.Min < 1 || p.Min > len(p.Expected) {
		errs = append(errs, l.Errorf("participants.min",
			"must be between 1 and the number of expected participants (%d), got %d", len(p.Expected), p.Min))
	}
	return yamlcfg.Join(errs...)
}

func (t Timing) validate(l *yamlcfg.Locator) error {
	return yamlcfg.Join(
		yamlcfg.CheckDuration(l, "timing.join_timeout", t.JoinTimeout, maxJoinTimeout),
		yamlcfg.CheckDuration(l, "timing.aggregator_ready_timeout", t.AggregatorReadyTimeout, maxReadyTimeout),
		yamlcfg.CheckDuration(l, "timing.round_deadline", t.RoundDeadline, maxRoundDeadline),
		yamlcfg.CheckDuration(l, "timing.aggregation_timeout", t.AggregationTimeout, maxAggregateTimeout),
	)
}

func (t Training) validate(l *yamlcfg.Locator) error {
	var lr error
	switch {
	case !(t.LearningRate > 0):
		lr = l.Errorf("training.learning_rate", "must be > 0, got %v", t.LearningRate)
	case t.LearningRate > MaxLearnRate:
		lr = l.Errorf("training.learning_rate", "must be at most %v, got %v", MaxLearnRate, t.LearningRate)
	}
	return yamlcfg.Join(
		yamlcfg.InRange(l, "training.local_epochs", t.LocalEpochs, 1, MaxLocalEpochs),
		lr,
		yamlcfg.InRange(l, "training.batch_size", t.BatchSize, 1, MaxBatchSize),
		yamlcfg.NonNegative(l, "training.proximal_mu", t.ProximalMu),
		yamlcfg.NonNegative(l, "training.l2", t.L2),
	)
}

func (a Aggregation) validate(l *yamlcfg.Locator, m ModelSpec) error {
	var errs []error
	switch {
	case slices.Contains(strategies, a.Strategy):
	case slices.Contains(plannedStrategies, a.Strategy):
		errs = append(errs, l.Errorf("aggregation.strategy", "%q is not yet available (available now: %s)",
			a.Strategy, yamlcfg.Alternatives(strategies)))
	default:
		errs = append(errs, l.OneOf("aggregation.strategy", a.Strategy, strategies...))
	}
	errs = append(errs, yamlcfg.NonNegative(l, "aggregation.max_update_norm", a.MaxUpdateNorm),
		yamlcfg.NonNegative(l, "aggregation.clip_norm", a.ClipNorm))
	if _, err := a.ServerOptimizer.Resolved(); err != nil {
		errs = append(errs, l.Errorf("aggregation.server_optimizer", "%v", err))
	}
	// One update holds at least features weights and a bias (checked only
	// when model.features is valid).
	least := yamlcfg.ByteSize(bytesPerParam * (int64(m.Features) + 1))
	switch {
	case a.MaxUpdateBytes <= 0:
		errs = append(errs, l.Errorf("aggregation.max_update_bytes", "must be > 0, got %s", a.MaxUpdateBytes))
	case m.Features >= 1 && m.Features <= MaxFeatures && a.MaxUpdateBytes < least:
		errs = append(errs, l.Errorf("aggregation.max_update_bytes",
			"must be at least %s, the size of one update of a model with %d features and a bias as float32, got %s",
			least, m.Features, a.MaxUpdateBytes))
	}
	return yamlcfg.Join(errs...)
}

func (t TEE) validate(l *yamlcfg.Locator) error {
	aggKind := provider.CheckKindAt(l, "tee.aggregator", t.Aggregator, provider.Verify)
	partKind := provider.CheckKindAt(l, "tee.participants", t.Participants, provider.Verify, TEENone)
	errs := []error{aggKind, partKind}
	switch t.Aggregator {
	case "sev-snp":
		if err := t.SEVSNP.Validate(); err != nil {
			errs = append(errs, l.Errorf("tee.sev-snp", "%v", err))
		}
	case "tdx":
		errs = append(errs, t.TDX.ValidateAt(l, "tee.tdx"))
	case "sgx":
		errs = append(errs, t.SGX.ValidateAt(l, "tee.sgx"))
	default:
		if aggKind == nil {
			if err := t.AggregatorPolicy().Validate(); err != nil {
				errs = append(errs, l.Errorf("tee."+t.Aggregator, "%v", err))
			}
		}
	}
	if t.ParticipantsAttest() && partKind == nil {
		if err := t.ParticipantPolicy.shippable(l, t.Participants); err != nil {
			errs = append(errs, err)
		} else if err := t.ParticipantsPolicy().Validate(); err != nil {
			errs = append(errs, l.Errorf("tee.participant_policy", "%v", err))
		}
	}
	return yamlcfg.Join(errs...)
}

// shippable checks that the participant policy of kind means the same on
// the aggregator, which reads it: the files it names (arm-cca platform
// keys, an azure-maa key bundle) are opened there, so they must be
// absolute paths that exist on the aggregator's machine too.
func (p PolicySections) shippable(l *yamlcfg.Locator, kind string) error {
	var errs []error
	check := func(key, path string) {
		if path != "" && !filepath.IsAbs(path) {
			errs = append(errs, l.Errorf(key, "must be an absolute path, got %q: the aggregator reads this file on its own machine, where a relative path means something else", path))
		}
	}
	switch kind {
	case "arm-cca":
		for i, f := range p.CCA.PlatformKeys {
			check(fmt.Sprintf("tee.participant_policy.arm-cca.platform_keys[%d]", i), f)
		}
	case "azure-maa":
		check("tee.participant_policy.azure-maa.key_bundle", p.MAA.KeyBundle)
	}
	return yamlcfg.Join(errs...)
}
