package coordinator

import (
	"path/filepath"

	"github.com/confed/confed/coordinator/dashboard"
	"github.com/confed/confed/internal/health"
	"github.com/confed/confed/internal/metrics/metricscfg"
	"github.com/confed/confed/internal/yamlcfg"
)

// Config is the coordinator's configuration file. Relative paths in the
// file are relative to the file's directory; Parse resolves them.
type Config struct {
	// Listen is the host:port to serve on (default 127.0.0.1:7443).
	Listen string `yaml:"listen"`
	// Database is the bbolt file holding models and the ledger; it is
	// created if missing, but its directory must exist. Required.
	Database string `yaml:"database"`
	// RoundConfig is the round configuration file. Required.
	RoundConfig string `yaml:"round_config"`
	// AggregatorAddress is the host:port of the aggregator that the
	// coordinator advertises to participants. Required.
	AggregatorAddress string `yaml:"aggregator_address"`
	// TLS is the coordinator's certificate, key and the federation CA.
	TLS yamlcfg.TLSFiles `yaml:"tls"`
	// Log sets the level and format of the logs.
	Log yamlcfg.LogConfig `yaml:"log"`
	// Metrics, if present, serves Prometheus metrics over plain HTTP.
	Metrics metricscfg.Config `yaml:"metrics"`
	// Dashboard, if present, serves the operator dashboard over HTTPS
	// (coordinator/dashboard); absent, there is none.
	Dashboard *dashboard.Config `yaml:"dashboard"`
	// HealthListen, if set, is a plaintext host:port for probes: gRPC
	// health and GET /healthz, /readyz (internal/health). Off by default.
	HealthListen string `yaml:"health_listen"`

	loc *yamlcfg.Locator
}

// Default returns the defaults: listen on 127.0.0.1:7443, log at info level
// as text. database, round_config, aggregator_address and tls have none.
func Default() Config {
	return Config{Listen: "127.0.0.1:7443", Log: yamlcfg.DefaultLog()}
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
	c.Database = yamlcfg.ResolvePath(dir, c.Database)
	c.RoundConfig = yamlcfg.ResolvePath(dir, c.RoundConfig)
	c.TLS = c.TLS.Resolve(dir)
	if c.Dashboard != nil {
		d := c.Dashboard.Resolve(dir)
		c.Dashboard = &d
	}
	c.loc = loc
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Load reads and parses the coordinator configuration file at path.
func Load(path string) (Config, error) {
	return yamlcfg.Load(path, "coordinator configuration", Parse)
}

// Validate checks every key, including that the files it names exist, and
// returns all problems ordered by line.
func (c Config) Validate() error {
	l := c.loc
	return yamlcfg.Join(
		yamlcfg.CheckAddress(l, "listen", c.Listen, true),
		c.checkDatabase(l),
		c.checkRoundConfig(l),
		yamlcfg.CheckAddress(l, "aggregator_address", c.AggregatorAddress, false),
		c.TLS.Validate(l, "tls"),
		c.Log.Validate(l, "log"),
		c.Metrics.Validate(l, "metrics"),
		c.checkDashboard(l),
		health.CheckListen(l, "health_listen", c.HealthListen),
	)
}

func (c Config) checkDatabase(l *yamlcfg.Locator) error {
	if c.Database == "" {
		return l.Required("database", "the path of the coordinator's database file")
	}
	return yamlcfg.CheckCreatable(l, "database", c.Database, false)
}

func (c Config) checkRoundConfig(l *yamlcfg.Locator) error {
	if c.RoundConfig == "" {
		return l.Required("round_config", "the path of the round configuration file")
	}
	return yamlcfg.CheckFile(l, "round_config", c.RoundConfig)
}

func (c Config) checkDashboard(l *yamlcfg.Locator) error {
	if c.Dashboard == nil {
		return nil
	}
	return c.Dashboard.Validate(l, "dashboard")
}
