package roundconfig

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/yamlcfg"
)

// valid is a config built in code that passes Validate.
func valid() Config {
	c := Default()
	c.Federation = "demo"
	c.Participants = Participants{Expected: []string{"alpha", "beta"}, Min: 2}
	return c
}

func TestValidateBuiltInCode(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"boundaries are valid", func(c *Config) {
			c.Rounds, c.Model.Features = MaxRounds, MaxFeatures
			c.Training = Training{LocalEpochs: MaxLocalEpochs, LearningRate: MaxLearnRate, BatchSize: MaxBatchSize}
			c.Timing = Timing{
				JoinTimeout: yamlcfg.Duration(168 * time.Hour), AggregatorReadyTimeout: yamlcfg.Duration(time.Hour),
				RoundDeadline: yamlcfg.Duration(24 * time.Hour), AggregationTimeout: yamlcfg.Duration(24 * time.Hour),
			}
			c.Participants.Min = 1
			c.Aggregation.MaxUpdateBytes = 4 * (MaxFeatures + 1)
		}, ""},
		{"Default alone", func(c *Config) { *c = Default() }, strings.Join([]string{
			`federation: missing: expected a name such as "heart-disease"`,
			`participants.expected: missing: expected a list of participant names such as [cleveland, hungary]`,
		}, "\n")},
		{"federation name", func(c *Config) { c.Federation = "-demo" }, `federation: must be lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters, got "-demo"`},
		{"federation too long", func(c *Config) { c.Federation = strings.Repeat("a", 64) }, `federation: must be lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters, got "` + strings.Repeat("a", 64) + `"`},
		{"rounds too many", func(c *Config) { c.Rounds = MaxRounds + 1 }, "rounds: must be between 1 and 100000, got 100001"},
		{"model kind", func(c *Config) { c.Model.Kind = "logistic-regression" }, `model.kind: must be logistic_regression, got "logistic-regression" (did you mean "logistic_regression"?)`},
		{"no features", func(c *Config) { c.Model.Features = 0 }, "model.features: must be between 1 and 50000000, got 0"},
		{"model init", func(c *Config) { c.Model.Init = "random" }, `model.init: must be zeros or normal, got "random"`},
		{"fixed point in the 64-bit ring", func(c *Config) {
			c.Aggregation.FixedPoint = FixedPoint{Enabled: true, Bits: 64, Clip: 1, Scale: 1 << 40, MaxWeight: 1000}
		}, ""},
		{"fixed point ring of 16 bits", func(c *Config) {
			c.Aggregation.FixedPoint = FixedPoint{Enabled: true, Bits: 16, Clip: 1, Scale: 16, MaxWeight: 10}
		}, "aggregation.fixed_point.bits: must be 32 or 64, got 16"},
		{"64-bit scale that would wrap 32 bits", func(c *Config) {
			c.Aggregation.FixedPoint = FixedPoint{Enabled: true, Bits: 32, Clip: 1, Scale: 1 << 40, MaxWeight: 1000}
		}, "aggregation.fixed_point: fixedpoint: Params could wrap the 32-bit ring: MaxParticipants × ⌈Clip × Scale × MaxWeight⌉ = 2 × ⌈1 × 1.099511627776e+12 × 1000⌉ = 2199023255552000 exceeds the largest safe |sum|, 2^31 − 1 = 2147483647, by 2199021108068353 (1.02e+06×, 19.97 bits); lower Scale to at most 1.07374e+06 (2^20 is the largest power of two that fits), or Clip to at most 9.76562e-07, or use Bits 64"},
		{"min zero", func(c *Config) { c.Participants.Min = 0 }, "participants.min: must be between 1 and the number of expected participants (2), got 0"},
		{"duplicate participant", func(c *Config) { c.Participants.Expected = []string{"a", "b", "a"} }, `participants.expected[2]: duplicate participant "a" (already listed as participants.expected[0])`},
		{"zero join timeout", func(c *Config) { c.Timing.JoinTimeout = 0 }, "timing.join_timeout: must be > 0, got 0s"},
		{"ready timeout too long", func(c *Config) { c.Timing.AggregatorReadyTimeout = yamlcfg.Duration(2 * time.Hour) }, "timing.aggregator_ready_timeout: must be at most 1h, got 2h"},
		{"negative round deadline", func(c *Config) { c.Timing.RoundDeadline = yamlcfg.Duration(-time.Second) }, "timing.round_deadline: must be > 0, got -1s"},
		{"aggregation timeout too long", func(c *Config) { c.Timing.AggregationTimeout = yamlcfg.Duration(25 * time.Hour) }, "timing.aggregation_timeout: must be at most 24h, got 25h"},
		{"join timeout too long", func(c *Config) { c.Timing.JoinTimeout = yamlcfg.Duration(169 * time.Hour) }, "timing.join_timeout: must be at most 168h, got 169h"},
		{"no epochs", func(c *Config) { c.Training.LocalEpochs = 0 }, "training.local_epochs: must be between 1 and 1000, got 0"},
		{"zero learning rate", func(c *Config) { c.Training.LearningRate = 0 }, "training.learning_rate: must be > 0, got 0"},
		{"NaN learning rate", func(c *Config) { c.Training.LearningRate = math.NaN() }, "training.learning_rate: must be > 0, got NaN"},
		{"infinite learning rate", func(c *Config) { c.Training.LearningRate = math.Inf(1) }, "training.learning_rate: must be at most 10, got +Inf"},
		{"negative l2", func(c *Config) { c.Training.L2 = -1e-3 }, "training.l2: must be >= 0, got -0.001"},
		{"NaN mu", func(c *Config) { c.Training.ProximalMu = math.NaN() }, "training.proximal_mu: must be a finite number >= 0, got NaN"},
		{"empty strategy", func(c *Config) { c.Aggregation.Strategy = "" }, "aggregation.strategy: missing: expected fedavg, median, trimmed_mean, krum or multikrum"},
		{"robust rule with too few updates", func(c *Config) { c.Aggregation.Strategy = "krum"; c.Participants.Min = 1 },
			"aggregation: with participants.min = 1: byzantine: krum needs more than 2·byzantine + 2 = 2 updates, got 1"},
		{"unknown server optimizer", func(c *Config) { c.Aggregation.ServerOptimizer.Name = "sgd" },
			`aggregation.server_optimizer: server_optimizer: must be one of fedavg, fedavgm, fedadam, fedyogi, fedadagrad, got "sgd"`},
		{"infinite norm", func(c *Config) { c.Aggregation.MaxUpdateNorm = math.Inf(1) }, "aggregation.max_update_norm: must be a finite number >= 0, got +Inf"},
		{"zero update bytes", func(c *Config) { c.Aggregation.MaxUpdateBytes = 0 }, "aggregation.max_update_bytes: must be > 0, got 0B"},
		{"update bytes below one model", func(c *Config) { c.Aggregation.MaxUpdateBytes = 55 }, "aggregation.max_update_bytes: must be at least 56B, the size of one update of a model with 13 features and a bias as float32, got 55B"},
		{"aggregator TEE none", func(c *Config) { c.TEE.Aggregator = "none" }, `tee.aggregator: must be sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca or simulated, got "none"`},
		{"participants TEE", func(c *Config) { c.TEE.Participants = "TDX" }, `tee.participants: must be none, sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca or simulated, got "TDX" (did you mean "tdx"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate()\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestTEEInsecure(t *testing.T) {
	tests := []struct {
		tee  TEE
		want bool
	}{
		{TEE{Aggregator: "simulated", Participants: "none"}, true},
		{TEE{Aggregator: "sev-snp", Participants: "simulated"}, true},
		{TEE{Aggregator: "tdx", Participants: "none"}, false},
		{TEE{Aggregator: "sgx", Participants: "sev-snp"}, false},
	}
	for _, tt := range tests {
		if got := tt.tee.Insecure(); got != tt.want {
			t.Errorf("%+v.Insecure() = %v, want %v", tt.tee, got, tt.want)
		}
	}
}
