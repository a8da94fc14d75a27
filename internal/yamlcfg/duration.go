package yamlcfg

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as a string with a unit, such
// as "500ms", "30s", "2m" or "1h30m" (the syntax of time.ParseDuration).
// Bare numbers are rejected: "timeout: 30" could mean seconds or
// milliseconds.
type Duration time.Duration

// durationHint is what every duration error says was expected.
const durationHint = "expected a duration such as 30s"

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration but without zero trailing units:
// "2m" rather than "2m0s", "1h" rather than "1h0m0s". The result parses back
// to d.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML decodes a duration string, rejecting bare numbers.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return fmt.Errorf("%s, got %s", durationHint, describe(n))
	}
	switch n.ShortTag() {
	case tagInt, tagFloat:
		return fmt.Errorf("%s, got the bare number %s (add a unit: ms, s, m or h)", durationHint, n.Value)
	case tagStr:
	default:
		return fmt.Errorf("%s, got %s", durationHint, describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%s, 2m or 1h30m (units ns, us, ms, s, m, h), got %s", durationHint, describe(n))
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML encodes d as its String.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
