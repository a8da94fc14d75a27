package roundconfig

import (
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/yamlcfg"
)

func TestSecAggOff(t *testing.T) {
	c, err := Load("testdata/valid/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.SecureAggregation != (SecureAggregation{}) || c.SecureAggregation.On() {
		t.Fatalf("secure_aggregation = %+v, want off", c.SecureAggregation)
	}
}

func TestSecAggValidFile(t *testing.T) {
	c, err := Load("testdata/valid/secagg.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := SecureAggregation{Mode: SecAggPlus, Threshold: 3, StageTimeout: yamlcfg.Duration(5 * time.Second)}
	if c.SecureAggregation != want || !c.SecureAggregation.On() || c.SecureAggregation.Stage() != 5*time.Second {
		t.Fatalf("secure_aggregation = %+v, want %+v", c.SecureAggregation, want)
	}
	c.SecureAggregation.StageTimeout = 0
	if got := c.SecureAggregation.Stage(); got != time.Duration(DefaultStageTimeout) {
		t.Errorf("stage timeout without the key = %s, want the default %s", got, DefaultStageTimeout)
	}
}

func TestSecAggInvalidFiles(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"secagg-unsafe-threshold.yaml", []string{
			`:10: secure_aggregation.threshold: with 4 expected participants and neighbour_degree 0: threshold 2 must exceed half of the 4 parties holding each participant's shares (at least 3), or a server telling half of a participant's neighbours it dropped and the other half it survived could collect both its secrets`,
		}},
		{"secagg-conflicts.yaml", []string{
			`: aggregation.fixed_point.enabled: missing: secure aggregation masks fixed-point updates in the 32-bit ring: set it to true`,
			`:4: participants.min: is 2, below secure_aggregation.threshold 3: a round could start with fewer participants than unmasking needs`,
			`:6: aggregation.max_update_norm: the aggregator sees only masked updates under secure aggregation and cannot check their norm: set 0 (fixed_point.clip bounds each coordinate)`,
		}},
		{"secagg-stage-timeout.yaml", []string{
			`:13: secure_aggregation.stage_timeout: is 30s, not shorter than timing.round_deadline 30s: keys could not be exchanged before collection closes`,
		}},
		{"secagg-off-with-keys.yaml", []string{
			`:5: secure_aggregation.mode: is off, but other secure_aggregation keys are set: set mode secagg+, or remove them`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := "testdata/invalid/" + tt.file
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			want := path + strings.Join(tt.want, "\n"+path)
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
		})
	}
}

func TestSecAggValidate(t *testing.T) {
	on := func(c *Config) {
		c.Participants = Participants{Expected: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, Min: 8}
		c.Aggregation.FixedPoint.Enabled = true
		c.SecureAggregation = SecureAggregation{Mode: SecAggPlus, Threshold: 4, NeighbourDegree: 6}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"sparse graph", on, ""},
		{"threshold at half the holders", func(c *Config) { on(c); c.SecureAggregation.Threshold = 3 }, "must exceed half of the 7 parties"},
		{"threshold above the holders", func(c *Config) { on(c); c.SecureAggregation.Threshold = 8 }, "exceeds the 7 parties"},
		{"odd degree", func(c *Config) { on(c); c.SecureAggregation.NeighbourDegree = 5 }, "must be even"},
		{"missing threshold", func(c *Config) { on(c); c.SecureAggregation.Threshold = 0 }, "secure_aggregation.threshold: missing"},
		{"mode typo", func(c *Config) { on(c); c.SecureAggregation.Mode = "secagg" }, `secure_aggregation.mode: must be off or secagg+, got "secagg"`},
		{"central DP", func(c *Config) {
			on(c)
			c.Privacy = Privacy{Mode: PrivacyCentral, NoiseMultiplier: 1, ClipNorm: 1, Delta: 1e-5, EpsilonBudget: 5}
		}, "privacy.mode: central DP clips each update at the aggregator"},
		{"ring too small", func(c *Config) { on(c); c.Aggregation.FixedPoint.Scale = 1 << 24 }, "aggregation.fixed_point: fixedpoint: Params could wrap"},
		{"clip norm", func(c *Config) { on(c); c.Aggregation.ClipNorm = 1 }, "aggregation.clip_norm: the aggregator sees only masked updates"},
		{"stage timeout", func(c *Config) { on(c); c.SecureAggregation.StageTimeout = yamlcfg.Duration(time.Second) }, ""},
		{"negative stage timeout", func(c *Config) { on(c); c.SecureAggregation.StageTimeout = -1 }, "secure_aggregation.stage_timeout: must be > 0"},
		{"robust rule", func(c *Config) { on(c); c.Aggregation.Strategy = "median" }, "aggregation.strategy: is median, which needs each update"},
		{"64-bit ring", func(c *Config) { on(c); c.Aggregation.FixedPoint.Bits = 64 }, "secure aggregation masks updates in the 32-bit ring only"},
		{"tree", func(c *Config) { on(c); c.Tree = &Tree{} }, "cannot be combined with hierarchical aggregation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate: %v, want %q", err, tt.want)
			}
		})
	}
}
