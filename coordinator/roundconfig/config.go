package roundconfig

import (
	"github.com/confed/confed/internal/fixedpoint"

	"github.com/confed/confed/aggregator/strategy"

	"github.com/confed/confed/internal/tee/cca"
	"github.com/confed/confed/internal/tee/maa"
	"github.com/confed/confed/internal/tee/nitro"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/tee/sgx"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/tdx"

	"time"

	"github.com/confed/confed/internal/yamlcfg"
)

// Config is a parsed round configuration file.
type Config struct {
	// Federation names the federation: lowercase letters, digits and '-'.
	// Required.
	Federation string `yaml:"federation"`
	// Rounds is the number of rounds to publish, 1 to 100000.
	Rounds       int          `yaml:"rounds"`
	Model        ModelSpec    `yaml:"model"`
	Participants Participants `yaml:"participants"`
	Timing       Timing       `yaml:"timing"`
	Training     Training     `yaml:"training"`
	Aggregation  Aggregation  `yaml:"aggregation"`
	TEE          TEE          `yaml:"tee"`
	// Privacy is the federation's differential privacy (off by default).
	Privacy Privacy `yaml:"privacy"`
	// SecureAggregation is SecAgg+ masking of the updates (off by default).
	SecureAggregation SecureAggregation `yaml:"secure_aggregation"`
	// Tree is hierarchical aggregation (tree.go); nil: one aggregator.
	Tree *Tree `yaml:"tree,omitempty"`

	// Path is the file the config was parsed from ("" if built in code).
	Path string `yaml:"-"`
	// Raw is the bytes that were parsed (nil if built in code); SHA256
	// hashes them.
	Raw []byte `yaml:"-"`

	// loc places keys in the file for Validate's errors.
	loc *yamlcfg.Locator
}

// ModelSpec is the global model.
type ModelSpec struct {
	// Kind is the model family: logistic_regression.
	Kind string `yaml:"kind"`
	// Features is the number of input features, 1 to 50000000 (a logistic
	// regression of 3 × features + 1 float32 parameters: 600 MB at most).
	Features int `yaml:"features"`
	// Init is how the round-0 weights are set: zeros or normal (small
	// Gaussian values drawn from Seed).
	Init string `yaml:"init"`
	// Seed seeds Init.
	Seed uint64 `yaml:"seed"`
}

// Participants says who takes part.
type Participants struct {
	// Expected lists the participants' names; each must match the name in
	// its certificate. At least one, unique.
	Expected []string `yaml:"expected"`
	// Min is how many participants must submit an update for a round to be
	// aggregated, 1 to len(Expected). When the file leaves it out, Parse
	// sets it to len(Expected): every participant is needed.
	Min int `yaml:"min"`
}

// Timing holds the deadlines of the federation.
type Timing struct {
	// JoinTimeout is how long the coordinator waits, before each round,
	// for all expected participants to be connected; once it has passed,
	// the round starts as soon as Min are. At most 168h.
	JoinTimeout yamlcfg.Duration `yaml:"join_timeout"`
	// AggregatorReadyTimeout is how long the aggregator has to accept a
	// round (and attest) before the round fails. At most 1h.
	AggregatorReadyTimeout yamlcfg.Duration `yaml:"aggregator_ready_timeout"`
	// RoundDeadline is how long participants have to train and submit
	// their updates. At most 24h.
	RoundDeadline yamlcfg.Duration `yaml:"round_deadline"`
	// AggregationTimeout is how long the aggregator has to publish the
	// aggregate once collection has closed. At most 24h.
	AggregationTimeout yamlcfg.Duration `yaml:"aggregation_timeout"`
}

// Training is what each participant does locally in a round.
type Training struct {
	// LocalEpochs is the number of passes over the local data, 1 to 1000.
	LocalEpochs int `yaml:"local_epochs"`
	// LearningRate is the SGD step size, > 0 and at most 10.
	LearningRate float64 `yaml:"learning_rate"`
	// BatchSize is the minibatch size, 1 to 1000000.
	BatchSize int `yaml:"batch_size"`
	// ProximalMu is FedProx's proximal term (>= 0; 0 is plain FedAvg
	// training).
	ProximalMu float64 `yaml:"proximal_mu"`
	// L2 is the L2 penalty on the weights, not the bias (>= 0).
	L2 float64 `yaml:"l2"`
	// Seed seeds the shuffling of training examples.
	Seed uint64 `yaml:"seed"`
}

// Aggregation is how the aggregator combines updates.
type Aggregation struct {
	// Strategy combines the round's updates: fedavg (example-weighted
	// mean), or a robust rule for federations that may contain a faulty or
	// malicious member: median, trimmed_mean, krum, multikrum.
	Strategy string `yaml:"strategy"`
	// TrimFraction is the share trimmed from each end (trimmed_mean).
	TrimFraction float64 `yaml:"trim_fraction"`
	// Byzantine is the number of faulty updates to tolerate (krum,
	// multikrum; checked for median and trimmed_mean).
	Byzantine int `yaml:"byzantine"`
	// MultiKrumM is how many updates Multi-Krum averages (0: n − byzantine).
	MultiKrumM int `yaml:"multikrum_m"`
	// ClipNorm scales every update down to this L2 norm before it is
	// combined; 0 means no clipping.
	ClipNorm float64 `yaml:"clip_norm"`
	// ServerOptimizer turns the combined update into the next model.
	ServerOptimizer ServerOptimizer `yaml:"server_optimizer"`
	// FixedPoint makes training updates integers summed exactly in a ring.
	FixedPoint FixedPoint `yaml:"fixed_point"`
	// MaxUpdateNorm rejects updates whose L2 norm (of the difference from
	// the global model) exceeds it; 0 means unbounded.
	MaxUpdateNorm float64 `yaml:"max_update_norm"`
	// MaxUpdateBytes rejects larger encoded updates; > 0.
	MaxUpdateBytes yamlcfg.ByteSize `yaml:"max_update_bytes"`
}

// ServerOptimizer is the server-side optimiser. Parameters left out take
// the named optimiser's defaults (see aggregator/strategy.Defaults).
type ServerOptimizer struct {
	// Name is fedavg (default), fedavgm, fedadam, fedyogi or fedadagrad.
	Name           string   `yaml:"name"`
	ServerLR       *float64 `yaml:"server_lr,omitempty"`
	ServerMomentum *float64 `yaml:"server_momentum,omitempty"`
	Beta1          *float64 `yaml:"beta1,omitempty"`
	Beta2          *float64 `yaml:"beta2,omitempty"`
	Tau            *float64 `yaml:"tau,omitempty"`
	BiasCorrection bool     `yaml:"bias_correction"`
}

// FixedPoint configures fixed-point aggregation: participants clip each
// coordinate of their update to ±clip, multiply by their example count and
// by scale, round stochastically to an integer, and the aggregator sums the
// integers with wrapping adds in Z_{2^bits}. Integer sums are exact, so the
// aggregate does not depend on arrival order. The statistics round is
// exchanged in float32 (feature moments are not bounded by clip).
type FixedPoint struct {
	Enabled   bool    `yaml:"enabled"`
	Bits      int     `yaml:"bits"`
	Clip      float64 `yaml:"clip"`
	Scale     float64 `yaml:"scale"`
	MaxWeight uint64  `yaml:"max_weight"`
}

// Params are the ring parameters for a federation of participants members.
func (f FixedPoint) Params(participants int) fixedpoint.Params {
	return fixedpoint.Params{Bits: f.Bits, Clip: f.Clip, Scale: f.Scale, MaxWeight: f.MaxWeight, MaxParticipants: participants}
}

// Resolved returns the optimiser's configuration with defaults applied.
func (o ServerOptimizer) Resolved() (strategy.Config, error) {
	c, err := strategy.Defaults(o.Name)
	if err != nil {
		return c, err
	}
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.ServerLR, o.ServerLR)
	set(&c.Momentum, o.ServerMomentum)
	set(&c.Beta1, o.Beta1)
	set(&c.Beta2, o.Beta2)
	set(&c.Tau, o.Tau)
	c.BiasCorrection = o.BiasCorrection
	return c, c.Validate()
}

// Robust returns the robust rule's configuration, or nil for fedavg.
func (a Aggregation) Robust() *strategy.RobustConfig {
	if a.Strategy == StrategyFedAvg {
		return nil
	}
	return &strategy.RobustConfig{Name: a.Strategy, TrimFraction: a.TrimFraction, Byzantine: a.Byzantine, MultiKrumM: a.MultiKrumM}
}

// TEE says which Trusted Execution Environments must be attested.
type TEE struct {
	// Aggregator is the aggregator's TEE: any kind provider.Kinds(Verify)
	// lists (simulated, sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca).
	// simulated is INSECURE: it protects nothing, and the daemons accept it
	// only when started with --insecure-simulated-tee. azure-maa and
	// arm-cca are verification-only in this build (no confed daemon can run
	// as them); nvidia-gpu is refused: it is not a CPU TEE.
	Aggregator string `yaml:"aggregator"`
	// Participants is the TEE participants must attest to: none (no
	// attestation) or a kind as for Aggregator.
	Participants string `yaml:"participants"`
	// The attestation policy for each kind: what the aggregator's evidence
	// must show. Only the section of tee.aggregator's kind is used, and it
	// is required for every hardware kind.
	SEVSNP    snp.Policy               `yaml:"sev-snp"`
	TDX       tdx.Policy               `yaml:"tdx"`
	SGX       sgx.Policy               `yaml:"sgx"`
	Nitro     nitro.Policy             `yaml:"aws-nitro"`
	MAA       maa.Policy               `yaml:"azure-maa"`
	CCA       cca.Policy               `yaml:"arm-cca"`
	Simulated provider.SimulatedPolicy `yaml:"simulated"`
	// ParticipantPolicy is what participants' evidence must show when
	// tee.participants is not none: the section of that kind is used.
	ParticipantPolicy PolicySections `yaml:"participant_policy"`
}

// PolicySections are attestation policies by TEE kind.
type PolicySections struct {
	SEVSNP    snp.Policy               `yaml:"sev-snp"`
	TDX       tdx.Policy               `yaml:"tdx"`
	SGX       sgx.Policy               `yaml:"sgx"`
	Nitro     nitro.Policy             `yaml:"aws-nitro"`
	MAA       maa.Policy               `yaml:"azure-maa"`
	CCA       cca.Policy               `yaml:"arm-cca"`
	Simulated provider.SimulatedPolicy `yaml:"simulated"`
}

// ParticipantsAttest reports whether participants must attest.
func (t TEE) ParticipantsAttest() bool { return t.Participants != TEENone }

// ParticipantsPolicy is the policy participants' evidence must meet.
func (t TEE) ParticipantsPolicy() provider.Policy {
	p := t.ParticipantPolicy
	return provider.Policy{TEE: t.Participants, SEVSNP: p.SEVSNP, TDX: p.TDX, SGX: p.SGX, Nitro: p.Nitro, MAA: p.MAA,
		CCA: p.CCA, Simulated: p.Simulated}
}

// AggregatorPolicy is the policy the aggregator's evidence must meet.
func (t TEE) AggregatorPolicy() provider.Policy {
	return provider.Policy{TEE: t.Aggregator, SEVSNP: t.SEVSNP, TDX: t.TDX, SGX: t.SGX, Nitro: t.Nitro, MAA: t.MAA,
		CCA: t.CCA, Simulated: t.Simulated}
}

// Insecure reports whether t relies on the simulated TEE anywhere, in which
// case the daemons must be started with --insecure-simulated-tee.
func (t TEE) Insecure() bool {
	return t.Aggregator == TEESimulated || t.Participants == TEESimulated
}

// Allowed values.
const (
	ModelLogisticRegression = "logistic_regression"
	InitZeros               = "zeros"
	InitNormal              = "normal"
	StrategyFedAvg          = "fedavg"
	TEESimulated            = "simulated"
	TEENone                 = "none"
)

var (
	modelKinds = []string{ModelLogisticRegression}
	inits      = []string{InitZeros, InitNormal}
	// strategies are the aggregation strategies this build implements.
	strategies = []string{StrategyFedAvg, "median", "trimmed_mean", "krum", "multikrum"}
	// plannedStrategies are documented but not yet available; the config
	// rejects them with a message saying so.
	plannedStrategies = []string{}
)

// Default returns the defaults of every key except federation and
// participants.expected, which every file must set. participants.min is 0
// here; Parse sets it to the number of expected participants when the file
// leaves it out, and a Config built in code must set it.
func Default() Config {
	return Config{
		Rounds: 20,
		Model:  ModelSpec{Kind: ModelLogisticRegression, Features: 13, Init: InitZeros, Seed: 1},
		Timing: Timing{
			JoinTimeout:            yamlcfg.Duration(2 * time.Minute),
			AggregatorReadyTimeout: yamlcfg.Duration(time.Minute),
			RoundDeadline:          yamlcfg.Duration(time.Minute),
			AggregationTimeout:     yamlcfg.Duration(time.Minute),
		},
		Training: Training{LocalEpochs: 5, LearningRate: 0.1, BatchSize: 16, ProximalMu: 0, L2: 0, Seed: 1},
		Aggregation: Aggregation{
			Strategy: StrategyFedAvg, MaxUpdateNorm: 0, MaxUpdateBytes: yamlcfg.GiB,
			ServerOptimizer: ServerOptimizer{Name: "fedavg"},
			FixedPoint:      FixedPoint{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000},
		},
		TEE: TEE{Aggregator: TEESimulated, Participants: TEENone},
	}
}
