package participant

import (
	"path/filepath"
	"time"

	"github.com/confed/confed/internal/health"
	"github.com/confed/confed/internal/metrics/metricscfg"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant/trainer/external"
)

// Accepted values and limits of the participant's configuration.
const (
	dataFormatUCIHeartDisease = "uci-heart-disease"
	trainerBuiltinLogReg      = "builtin-logreg"
	trainerExternal           = "external"
	maxReconnectInitial       = yamlcfg.Duration(time.Minute)
	maxReconnectMax           = yamlcfg.Duration(time.Hour)
)

// Config is a participant's configuration file, written by the hospital's
// ML engineer. Relative paths in the file are relative to the file's
// directory; Parse resolves them.
type Config struct {
	// Coordinator is the coordinator's host:port. Required.
	Coordinator string `yaml:"coordinator"`
	// TLS is the participant's certificate (whose name is the participant's
	// name in the federation), its key and the federation CA.
	TLS yamlcfg.TLSFiles `yaml:"tls"`
	// Data is the local data set; it never leaves the participant.
	Data DataConfig `yaml:"data"`
	// Trainer is the local training implementation.
	Trainer TrainerConfig `yaml:"trainer"`
	// Reconnect is the back-off after losing the coordinator.
	Reconnect ReconnectConfig `yaml:"reconnect"`
	// AggregatorAttestation is this institution's own policy for the
	// aggregator: the TEE it must run in and what its evidence must show.
	// Nothing is sent to an aggregator that does not meet it, whatever the
	// coordinator says. Required.
	AggregatorAttestation provider.Policy `yaml:"aggregator_attestation"`
	// AttestAs is the TEE this participant runs in, whose evidence it
	// presents when the federation requires participants to attest: none
	// (default), sev-snp, tdx, sgx, aws-nitro or simulated (INSECURE); the
	// kinds without an issuer here (azure-maa, arm-cca) and nvidia-gpu
	// (not a CPU TEE) are refused with the reason (provider.CheckKind).
	AttestAs string `yaml:"attest_as"`
	// StateDir, if set, is where the participant keeps state across
	// restarts; it is created if missing, but its parent must exist.
	StateDir string `yaml:"state_dir"`
	// Log sets the level and format of the logs.
	Log yamlcfg.LogConfig `yaml:"log"`
	// HealthListen, if set, is a plaintext host:port for probes: gRPC
	// health and GET /healthz, /readyz (internal/health). Off by default.
	HealthListen string `yaml:"health_listen"`
	// Metrics, if present, serves Prometheus metrics over plain HTTP.
	Metrics metricscfg.Config `yaml:"metrics"`

	loc *yamlcfg.Locator
}

// DataConfig is the "data" section.
type DataConfig struct {
	// Format is the file format: uci-heart-disease (the default and only
	// one).
	Format string `yaml:"format"`
	// Path is the data file. Required; must exist.
	Path string `yaml:"path"`
	// TestFraction is the share of examples held out for evaluation,
	// strictly between 0 and 1 (default 0.34).
	TestFraction float64 `yaml:"test_fraction"`
	// SplitSeed seeds the train/test split (default 42).
	SplitSeed uint64 `yaml:"split_seed"`
}

// TrainerConfig is the "trainer" section.
type TrainerConfig struct {
	// Kind is builtin-logreg (the default) or external.
	Kind string `yaml:"kind"`
	// External configures kind external: a trainer run as a separate
	// process (docs/trainers.md). Required with that kind, refused otherwise.
	External *external.Config `yaml:"external"`
}

// ReconnectConfig is the "reconnect" section: exponential back-off from
// Initial, doubling up to Max.
type ReconnectConfig struct {
	// Initial is the first delay, > 0 and at most 1m (default 500ms).
	Initial yamlcfg.Duration `yaml:"initial"`
	// Max is the longest delay, at least Initial and at most 1h (default
	// 30s).
	Max yamlcfg.Duration `yaml:"max"`
}

// Default returns the defaults of every key but coordinator, tls and
// data.path, which have none.
func Default() Config {
	return Config{
		Data:     DataConfig{Format: dataFormatUCIHeartDisease, TestFraction: 0.34, SplitSeed: 42},
		Trainer:  TrainerConfig{Kind: trainerBuiltinLogReg},
		AttestAs: "none",
		Reconnect: ReconnectConfig{
			Initial: yamlcfg.Duration(500 * time.Millisecond),
			Max:     yamlcfg.Duration(30 * time.Second),
		},
		Log: yamlcfg.DefaultLog(),
	}
}

// Parse decodes data, the contents of file, strictly over Default(),
// resolves relative paths against file's directory, and validates the
// result; every error names file, line and key.
func Parse(file string, data []byte) (Config, error) {
	c := Default()
	loc, err := yamlcfg.Decode(file, data, &c)
	if err != nil {
		return Config{}, err
	}
	dir := filepath.Dir(file)
	c.TLS = c.TLS.Resolve(dir)
	c.Data.Path = yamlcfg.ResolvePath(dir, c.Data.Path)
	c.StateDir = yamlcfg.ResolvePath(dir, c.StateDir)
	c.Trainer.External = c.Trainer.External.Resolve(dir)
	c.loc = loc
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Load reads and parses the participant configuration file at path.
func Load(path string) (Config, error) {
	return yamlcfg.Load(path, "participant configuration", Parse)
}

// Validate checks every key, including that the files it names exist, and
// returns all problems ordered by line.
func (c Config) Validate() error {
	l := c.loc
	var stateDir error
	if c.StateDir != "" {
		stateDir = yamlcfg.CheckCreatable(l, "state_dir", c.StateDir, true)
	}
	return yamlcfg.Join(
		yamlcfg.CheckAddress(l, "coordinator", c.Coordinator, false),
		c.TLS.Validate(l, "tls"),
		c.Data.validate(l),
		c.Trainer.validate(l),
		c.Reconnect.validate(l),
		provider.CheckDaemonPolicy(l, "aggregator_attestation", c.AggregatorAttestation, provider.Verify),
		provider.CheckKindAt(l, "attest_as", c.AttestAs, provider.Run, "none"),
		stateDir,
		c.Log.Validate(l, "log"),
		health.CheckListen(l, "health_listen", c.HealthListen),
		c.Metrics.Validate(l, "metrics"),
	)
}

func (d DataConfig) validate(l *yamlcfg.Locator) error {
	var path, fraction error
	if d.Path == "" {
		path = l.Required("data.path", "the path of this participant's data file")
	} else {
		path = yamlcfg.CheckFile(l, "data.path", d.Path)
	}
	if !(d.TestFraction > 0 && d.TestFraction < 1) {
		fraction = l.Errorf("data.test_fraction", "must be strictly between 0 and 1, got %v", d.TestFraction)
	}
	return yamlcfg.Join(l.OneOf("data.format", d.Format, dataFormatUCIHeartDisease), path, fraction)
}

func (t TrainerConfig) validate(l *yamlcfg.Locator) error {
	switch {
	case t.Kind == trainerExternal && t.External == nil:
		return l.Errorf("trainer.kind", "kind external needs a trainer.external section (command, timeout, …; see docs/trainers.md)")
	case t.Kind == trainerExternal:
		return t.External.Validate(l, "trainer.external")
	case t.External != nil && t.Kind == trainerBuiltinLogReg:
		return l.Errorf("trainer.external", "only allowed with trainer.kind external, got kind %s", t.Kind)
	}
	return l.OneOf("trainer.kind", t.Kind, trainerBuiltinLogReg, trainerExternal)
}

func (r ReconnectConfig) validate(l *yamlcfg.Locator) error {
	errs := []error{
		yamlcfg.CheckDuration(l, "reconnect.initial", r.Initial, maxReconnectInitial),
		yamlcfg.CheckDuration(l, "reconnect.max", r.Max, maxReconnectMax),
	}
	if r.Initial > 0 && r.Max > 0 && r.Max < r.Initial {
		// Blame the key the file set: with one of them left to its
		// default, the other is the one to change.
		if l.Has("reconnect.max") || !l.Has("reconnect.initial") {
			errs = append(errs, l.Errorf("reconnect.max", "must be at least reconnect.initial (%s), got %s", r.Initial, r.Max))
		} else {
			errs = append(errs, l.Errorf("reconnect.initial", "must be at most reconnect.max (%s), got %s", r.Max, r.Initial))
		}
	}
	return yamlcfg.Join(errs...)
}
