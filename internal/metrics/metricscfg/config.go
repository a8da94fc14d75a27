// Package metricscfg is the "metrics" section that each daemon's
// configuration file may carry: where to serve Prometheus metrics.
package metricscfg

import (
	"log/slog"
	"net"

	"github.com/confed/confed/internal/metrics"
	"github.com/confed/confed/internal/yamlcfg"
)

// Config is the "metrics" section. Without it, no metrics are served.
type Config struct {
	// Listen is the host:port of the plain-HTTP listener that serves
	// /metrics, such as 127.0.0.1:9464. Required when the section is
	// present.
	Listen string `yaml:"listen"`
}

// Enabled reports whether metrics are to be served.
func (c Config) Enabled() bool { return c.Listen != "" }

// Validate checks c; key is where c sits in its config file ("metrics").
// An absent section is valid (metrics off); a present one needs listen.
func (c Config) Validate(l *yamlcfg.Locator, key string) error {
	if c.Listen == "" && !l.Has(key) && !l.Has(key+".listen") {
		return nil
	}
	return yamlcfg.CheckAddress(l, key+".listen", c.Listen, true)
}

// Start serves reg as c says, or returns nil (and no error) when metrics
// are off. The caller closes the returned server when the daemon stops.
func Start(c Config, reg *metrics.Registry, log *slog.Logger) (*metrics.Server, error) {
	if !c.Enabled() {
		return nil, nil
	}
	return metrics.Start(c.Listen, reg, log)
}

// Serve serves reg as c says and reports the listener's address to
// onListen (when not nil); the returned stop function (never nil) closes
// the listener, and does nothing when metrics are off.
func Serve(c Config, reg *metrics.Registry, log *slog.Logger, onListen func(net.Addr)) (func(), error) {
	srv, err := Start(c, reg, log)
	if err != nil || srv == nil {
		return func() {}, err
	}
	if onListen != nil {
		onListen(srv.Addr())
	}
	return func() { _ = srv.Close() }, nil
}
