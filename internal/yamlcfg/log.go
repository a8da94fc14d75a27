package yamlcfg

// LogConfig is the "log" section of a daemon's config file.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text (logfmt-like) or json.
	Format string `yaml:"format"`
}

// Log levels and formats LogConfig accepts.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

// DefaultLog is level info in text format.
func DefaultLog() LogConfig { return LogConfig{Level: "info", Format: "text"} }

// Validate checks c; key is where c sits in its config file ("log").
func (c LogConfig) Validate(l *Locator, key string) error {
	return Join(
		l.OneOf(key+".level", c.Level, logLevels...),
		l.OneOf(key+".format", c.Format, logFormats...),
	)
}
