package yamlcfg

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// AutoInt is an integer setting whose default, "auto", is worked out by
// the daemon at run time. The zero value is auto; an integer in the file
// fixes it (its range is checked by the daemon's Validate).
type AutoInt struct {
	n   int
	set bool
}

// FixedInt returns an AutoInt fixed to n.
func FixedInt(n int) AutoInt { return AutoInt{n: n, set: true} }

// Auto reports whether the setting is left to the daemon.
func (a AutoInt) Auto() bool { return !a.set }

// Value returns the fixed value, or 0 when the setting is auto.
func (a AutoInt) Value() int { return a.n }

// String returns "auto" or the integer.
func (a AutoInt) String() string {
	if !a.set {
		return "auto"
	}
	return strconv.Itoa(a.n)
}

const autoIntHint = `expected an integer or "auto"`

// UnmarshalYAML accepts an integer or the string auto.
func (a *AutoInt) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return fmt.Errorf("%s, got %s", autoIntHint, describe(n))
	}
	switch n.ShortTag() {
	case tagInt:
		var v int
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("%s, got %s", autoIntHint, describe(n))
		}
		*a = FixedInt(v)
		return nil
	case tagStr:
		if strings.TrimSpace(n.Value) == "auto" {
			*a = AutoInt{}
			return nil
		}
	}
	return fmt.Errorf("%s, got %s", autoIntHint, describe(n))
}

// MarshalYAML encodes a as auto or its integer.
func (a AutoInt) MarshalYAML() (any, error) {
	if !a.set {
		return "auto", nil
	}
	return a.n, nil
}

// AutoInRange checks that a fixed value lies in [lo, hi]; auto passes.
func AutoInRange(l *Locator, key string, a AutoInt, lo, hi int) error {
	if a.Auto() {
		return nil
	}
	return InRange(l, key, a.Value(), lo, hi)
}
