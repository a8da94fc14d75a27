package roundconfig

import (
	"strings"
	"testing"
)

func TestPrivacyValid(t *testing.T) {
	tests := []struct {
		file string
		want Privacy
	}{
		{"testdata/valid/privacy-central.yaml", Privacy{Mode: PrivacyCentral, NoiseMultiplier: 1.1, ClipNorm: 0.5, Delta: 1e-5, EpsilonBudget: 8}},
		{"testdata/valid/privacy-adaptive.yaml", Privacy{Mode: PrivacyCentral, NoiseMultiplier: 1, Delta: 1e-6, EpsilonBudget: 10,
			AdaptiveClipping: AdaptiveClipping{Enabled: true, TargetQuantile: 0.5, LearningRate: 0.2, InitialNorm: 0.1, CountNoiseMultiplier: 2}}},
		{"testdata/valid/minimal.yaml", Privacy{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if c.Privacy != tt.want {
				t.Fatalf("privacy = %+v, want %+v", c.Privacy, tt.want)
			}
			if c.Privacy.On() != (tt.want.Mode != "") {
				t.Fatalf("On() = %v", c.Privacy.On())
			}
			back, err := Parse("canonical", c.Canonical())
			if err != nil || back.Privacy != c.Privacy {
				t.Fatalf("canonical round trip: %+v, %v", back.Privacy, err)
			}
		})
	}
}

func TestPrivacyInvalidFiles(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"privacy-bad-values.yaml", []string{
			`:6: privacy.noise_multiplier: must be a finite number > 0, got 0`,
			`:7: privacy.clip_norm: must be a finite number > 0, got -1`,
			`:8: privacy.delta: must be below 1/4 (1 / the number of expected participants, the units DP protects), got 0.25: choose δ much smaller, e.g. 1e-5`,
		}},
		{"privacy-off-with-keys.yaml", []string{
			`:5: privacy.mode: is off, but other privacy keys are set: set mode central or local, or remove them`,
		}},
		{"privacy-adaptive.yaml", []string{
			`:7: privacy.clip_norm: set together with adaptive_clipping: choose one (adaptive_clipping.initial_norm is the first round's norm)`,
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

func TestPrivacyValidate(t *testing.T) {
	central := func(c *Config) {
		c.Privacy = Privacy{Mode: PrivacyCentral, NoiseMultiplier: 1, ClipNorm: 1, Delta: 1e-5, EpsilonBudget: 5}
	}
	adaptive := func(c *Config) {
		central(c)
		c.Privacy.ClipNorm = 0
		c.Privacy.AdaptiveClipping = AdaptiveClipping{Enabled: true, TargetQuantile: 0.5, LearningRate: 0.2, InitialNorm: 0.1, CountNoiseMultiplier: 1}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring; "" for valid
	}{
		{"off", func(*Config) {}, ""},
		{"explicit off", func(c *Config) { c.Privacy.Mode = PrivacyOff }, ""},
		{"central", central, ""},
		{"local", func(c *Config) { central(c); c.Privacy.Mode = PrivacyLocal }, ""},
		{"adaptive", adaptive, ""},
		{"typo", func(c *Config) { central(c); c.Privacy.Mode = "centrl" }, `did you mean "central"`},
		{"negative noise", func(c *Config) { central(c); c.Privacy.NoiseMultiplier = -1 }, "privacy.noise_multiplier: must be a finite number > 0"},
		{"missing noise", func(c *Config) { central(c); c.Privacy.NoiseMultiplier = 0 }, "privacy.noise_multiplier: missing: expected a number > 0"},
		{"delta at 1/n", func(c *Config) { central(c); c.Privacy.Delta = 1.0 / 3 }, "privacy.delta: must be below 1/3"},
		{"missing budget", func(c *Config) { central(c); c.Privacy.EpsilonBudget = 0 }, "privacy.epsilon_budget"},
		{"no clipping", func(c *Config) { central(c); c.Privacy.ClipNorm = 0 }, "privacy.clip_norm"},
		{"robust rule", func(c *Config) { central(c); c.Aggregation.Strategy = "median" }, "needs aggregation.strategy fedavg"},
		{"local with a robust rule", func(c *Config) {
			central(c)
			c.Privacy.Mode = PrivacyLocal
			c.Aggregation.Strategy = "trimmed_mean"
			c.Aggregation.TrimFraction = 0.1
		}, ""},
		{"central with secure aggregation", func(c *Config) { central(c); c.SecureAggregation.Mode = SecAggPlus }, "use mode local with secure aggregation"},
		{"adaptive in local mode", func(c *Config) { adaptive(c); c.Privacy.Mode = PrivacyLocal }, "adaptive clipping needs mode central"},
		{"count noise too small", func(c *Config) { adaptive(c); c.Privacy.AdaptiveClipping.CountNoiseMultiplier = 0.5 }, "must exceed noise_multiplier/2"},
		{"quantile out of range", func(c *Config) { adaptive(c); c.Privacy.AdaptiveClipping.TargetQuantile = 0 }, "target_quantile: must be between 0 and 1"},
		{"adaptive keys while disabled", func(c *Config) { central(c); c.Privacy.AdaptiveClipping.LearningRate = 0.2 }, "enable it or remove them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			c.Participants.Expected = []string{"alpha", "beta", "gamma"}
			c.Participants.Min = 3
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
