package roundconfig

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/confed/confed/internal/yamlcfg"
)

// Parse decodes data, the contents of file (used in messages), strictly over
// Default(), sets participants.min to the number of expected participants if
// the file leaves it out, and validates the result. It keeps a copy of data
// in Raw. All errors are reported, one per line, each naming file, line and
// key.
func Parse(file string, data []byte) (Config, error) {
	c := Default()
	loc, err := yamlcfg.Decode(file, data, &c)
	if err != nil {
		return Config{}, err
	}
	if !loc.Has("participants.min") {
		c.Participants.Min = len(c.Participants.Expected)
	}
	c.loc, c.Path, c.Raw = loc, file, bytes.Clone(data)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Load reads and parses the round configuration file at path.
func Load(path string) (Config, error) {
	return yamlcfg.Load(path, "round configuration", Parse)
}

// SHA256 is the hash of Raw, the bytes that were loaded, or, for a Config
// built in code (Raw nil), of its canonical YAML encoding (see Canonical).
func (c Config) SHA256() [32]byte {
	if c.Raw != nil {
		return sha256.Sum256(c.Raw)
	}
	return sha256.Sum256(c.Canonical())
}

// Canonical is c encoded as YAML with every key, in the order of the
// struct fields. Parse(Canonical()) gives back c's values.
func (c Config) Canonical() []byte {
	out, err := yaml.Marshal(c)
	if err != nil {
		// Unreachable: Config holds only strings, numbers, a list of
		// strings and types that marshal as strings. Still, never hash
		// nothing: fall back to Go syntax, which is just as deterministic.
		return fmt.Appendf(nil, "%#v", c)
	}
	return out
}
