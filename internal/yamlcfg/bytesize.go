package yamlcfg

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ByteSize is a number of bytes, written in YAML as a plain integer of bytes
// or as a number with a unit: decimal kB, MB, GB, TB (powers of 1000) or
// binary KiB, MiB, GiB, TiB (powers of 1024), for example "512KiB", "1MiB",
// "1.5GiB", "10GB" or "4096B". Units are case-sensitive ("mb" would be
// ambiguous); a space between number and unit is allowed.
type ByteSize int64

// Binary size units.
const (
	KiB ByteSize = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

// sizeUnit is one unit ByteSize understands.
type sizeUnit struct {
	name string
	size int64
}

// sizeUnits are ordered from the largest down, the order in which String
// tries them; "KB" is accepted but String writes "kB".
var sizeUnits = []sizeUnit{
	{"TiB", int64(TiB)}, {"TB", 1e12}, {"GiB", int64(GiB)}, {"GB", 1e9},
	{"MiB", int64(MiB)}, {"MB", 1e6}, {"KiB", int64(KiB)}, {"kB", 1e3}, {"KB", 1e3}, {"B", 1},
}

const sizeHint = "expected a size such as 512KiB, 1MiB or 10GB, or a whole number of bytes"

var sizeText = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) ?([A-Za-z]*)$`)

// maxSizeText bounds the text ParseByteSize looks at; no valid size is longer.
const maxSizeText = 64

// ParseByteSize parses a size such as "1MiB", "1.5 GiB", "10GB" or "4096".
func ParseByteSize(s string) (ByteSize, error) {
	m := sizeText.FindStringSubmatch(s)
	if m == nil || len(s) > maxSizeText {
		return 0, fmt.Errorf("%s, got %s", sizeHint, quoteValue(s))
	}
	unit, ok := int64(1), m[2] == ""
	for _, u := range sizeUnits {
		if u.name == m[2] {
			unit, ok = u.size, true
		}
	}
	if !ok {
		return 0, fmt.Errorf("unknown unit %q in %s: expected B, kB, MB, GB, TB, KiB, MiB, GiB or TiB", m[2], quoteValue(s))
	}
	r, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Errorf("%s, got %s", sizeHint, quoteValue(s))
	}
	r.Mul(r, new(big.Rat).SetInt64(unit))
	switch {
	case !r.IsInt():
		return 0, fmt.Errorf("%s is not a whole number of bytes", quoteValue(s))
	case !r.Num().IsInt64():
		return 0, fmt.Errorf("%s is too large: at most %d bytes (8EiB)", quoteValue(s), int64(1<<63-1))
	}
	return ByteSize(r.Num().Int64()), nil
}

// String formats b with the largest unit that divides it exactly ("1GiB",
// "10GB", "1kB", "1023B"). The result parses back to b.
func (b ByteSize) String() string {
	if b != 0 {
		for _, u := range sizeUnits {
			if int64(b)%u.size == 0 {
				return strconv.FormatInt(int64(b)/u.size, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// UnmarshalYAML decodes a plain integer of bytes or a size with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return fmt.Errorf("%s, got %s", sizeHint, describe(n))
	}
	switch n.ShortTag() {
	case tagInt:
		var v int64
		if err := n.Decode(&v); err != nil || v < 0 {
			return fmt.Errorf("%s, got %s", sizeHint, describe(n))
		}
		*b = ByteSize(v)
		return nil
	case tagStr:
		v, err := ParseByteSize(strings.TrimSpace(n.Value))
		if err != nil {
			return err
		}
		*b = v
		return nil
	}
	return fmt.Errorf("%s, got %s", sizeHint, describe(n))
}

// MarshalYAML encodes b as its String.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }
