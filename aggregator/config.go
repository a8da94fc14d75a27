package aggregator

import (
	"path/filepath"
	"time"

	"github.com/confed/confed/internal/health"
	"github.com/confed/confed/internal/metrics/metricscfg"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
)

// Limits of the aggregator's tunables.
const (
	concurrentUpdatesLimit = 64
	chunkSizeMin           = 4 * yamlcfg.KiB
	chunkSizeMax           = 4 * yamlcfg.MiB
	defaultStreamIdle      = yamlcfg.Duration(time.Minute)
	defaultStreamTimeout   = yamlcfg.Duration(30 * time.Minute)
	streamIdleTimeoutMax   = yamlcfg.Duration(time.Hour)
	streamTimeoutMax       = yamlcfg.Duration(24 * time.Hour)
	defaultMaxConnections  = 64
	maxConnectionsLimit    = 100000
)

// Config is the aggregator's configuration file. Relative paths in the
// file are relative to the file's directory; Parse resolves them.
type Config struct {
	// Listen is the host:port on which participants reach the aggregator
	// (default 127.0.0.1:7444).
	Listen string `yaml:"listen"`
	// Coordinator is the coordinator's host:port. Required.
	Coordinator string `yaml:"coordinator"`
	// TLS is the aggregator's certificate, key and the federation CA.
	TLS yamlcfg.TLSFiles `yaml:"tls"`
	// MaxConcurrentUpdates is how many updates are staged at once, 1 to
	// 64, or auto (the default): as many as keep a round's sum and staging
	// buffers within three times the model's float32 size, at most 2 (1 in
	// float and 64-bit fixed-point rounds, whose sums take twice the
	// model; 2 in 32-bit fixed-point and secure-aggregation rounds). See
	// stagingBuffers.
	MaxConcurrentUpdates yamlcfg.AutoInt `yaml:"max_concurrent_updates"`
	// ChunkSize is the size of the chunks models and updates are streamed
	// in, 4KiB to 4MiB (default 1MiB).
	ChunkSize yamlcfg.ByteSize `yaml:"chunk_size"`
	// StreamWindow, if set (64KiB to 16MiB), fixes the HTTP/2 flow-control
	// window of participants' connections and streams, bounding what each
	// connection can have sent into the aggregator's memory (participants
	// that wait for a staging buffer send nothing, but a client that does
	// not follow the protocol might); unset, gRPC sizes windows to the
	// measured bandwidth-delay product (up to 16MiB), which long-distance
	// links need for full speed.
	StreamWindow yamlcfg.ByteSize `yaml:"stream_window"`
	// StreamIdleTimeout is the longest an update stream may go without a
	// message (its header, then each chunk) before it is refused and its
	// staging buffer freed (default 1m, at most 1h).
	StreamIdleTimeout yamlcfg.Duration `yaml:"stream_idle_timeout"`
	// StreamTimeout bounds one update stream from its header to its last
	// chunk, however steadily it trickles (default 30m, at most 24h).
	StreamTimeout yamlcfg.Duration `yaml:"stream_timeout"`
	// MaxConnections bounds the participants' connections served at once
	// (default 64): each can hold a flow-control window (1 MiB) of data in
	// memory, so this, not the number of participants, bounds that memory.
	// Further connections wait to be accepted.
	MaxConnections int `yaml:"max_connections"`
	// SpillDir is where robust strategies keep the round's updates,
	// encrypted under a key held only in memory (default: the system's
	// temporary directory).
	SpillDir string `yaml:"spill_dir"`
	// MinUpdates is the fewest updates the aggregator will combine into a
	// published model (default 2): an aggregate of one update is that
	// participant's update, whatever the coordinator asks.
	MinUpdates int `yaml:"min_updates"`
	// Attestation names the TEE this aggregator runs in (tee) and the
	// policy that the evidence of earlier aggregator instances must meet
	// before the aggregator builds on a model they signed. Required; tee
	// must be a kind with an issuer (provider.Kinds(provider.Run)).
	Attestation provider.Policy `yaml:"attestation"`
	// Log sets the level and format of the logs.
	Log yamlcfg.LogConfig `yaml:"log"`
	// HealthListen, if set, is a plaintext host:port for probes: gRPC
	// health and GET /healthz, /readyz (internal/health). Off by default.
	HealthListen string `yaml:"health_listen"`
	// Metrics, if present, serves Prometheus metrics over plain HTTP.
	Metrics metricscfg.Config `yaml:"metrics"`

	loc *yamlcfg.Locator
}

// Default returns the defaults: listen on 127.0.0.1:7444, staging buffers
// chosen per round (auto), 1MiB chunks, log at info level as text.
// coordinator and tls have none.
func Default() Config {
	return Config{
		Listen:            "127.0.0.1:7444",
		MinUpdates:        2,
		ChunkSize:         yamlcfg.MiB,
		StreamIdleTimeout: defaultStreamIdle,
		StreamTimeout:     defaultStreamTimeout,
		MaxConnections:    defaultMaxConnections,
		Log:               yamlcfg.DefaultLog(),
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
	c.TLS = c.TLS.Resolve(filepath.Dir(file))
	c.loc = loc
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Load reads and parses the aggregator configuration file at path.
func Load(path string) (Config, error) {
	return yamlcfg.Load(path, "aggregator configuration", Parse)
}

// Validate checks every key, including that the TLS files exist, and
// returns all problems ordered by line.
func (c Config) Validate() error {
	l := c.loc
	return yamlcfg.Join(
		yamlcfg.CheckAddress(l, "listen", c.Listen, true),
		yamlcfg.CheckAddress(l, "coordinator", c.Coordinator, false),
		c.TLS.Validate(l, "tls"),
		yamlcfg.AutoInRange(l, "max_concurrent_updates", c.MaxConcurrentUpdates, 1, concurrentUpdatesLimit),
		yamlcfg.InRange(l, "chunk_size", c.ChunkSize, chunkSizeMin, chunkSizeMax),
		c.checkStreamWindow(l),
		yamlcfg.CheckDuration(l, "stream_idle_timeout", c.StreamIdleTimeout, streamIdleTimeoutMax),
		yamlcfg.CheckDuration(l, "stream_timeout", c.StreamTimeout, streamTimeoutMax),
		yamlcfg.InRange(l, "max_connections", c.MaxConnections, 1, maxConnectionsLimit),
		yamlcfg.InRange(l, "min_updates", c.MinUpdates, 1, 1000000),
		provider.CheckDaemonPolicy(l, "attestation", c.Attestation, provider.Run),
		c.Log.Validate(l, "log"),
		health.CheckListen(l, "health_listen", c.HealthListen),
		c.Metrics.Validate(l, "metrics"),
	)
}

// Limits of stream_window.
const (
	streamWindowMin = 64 * yamlcfg.KiB
	streamWindowMax = 16 * yamlcfg.MiB
)

func (c Config) checkStreamWindow(l *yamlcfg.Locator) error {
	if c.StreamWindow == 0 {
		return nil
	}
	return yamlcfg.InRange(l, "stream_window", c.StreamWindow, streamWindowMin, streamWindowMax)
}
