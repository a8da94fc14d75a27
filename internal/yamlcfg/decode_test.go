package yamlcfg

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Name  string   `yaml:"name"`
	Count int      `yaml:"count"`
	Ratio float64  `yaml:"ratio"`
	On    bool     `yaml:"on"`
	Seed  uint64   `yaml:"seed"`
	Wait  Duration `yaml:"wait"`
	Size  ByteSize `yaml:"size"`
	Tags  []string `yaml:"tags"`
}

type outer struct {
	Top   string `yaml:"top"`
	Inner inner  `yaml:"inner"`
	Ptr   *inner `yaml:"ptr"`
	Skip  string `yaml:"-"`
	priv  string
}

func defaults() outer {
	return outer{Top: "default", Inner: inner{Name: "n", Count: 7, Tags: []string{"x", "y"}}, Skip: "kept"}
}

func TestDecodeGood(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want func(*outer)
	}{
		{"nothing overridden but one key", "top: t\n", func(o *outer) { o.Top = "t" }},
		{"every kind of field", `
top: t
inner:
  name: 2024         # a number is a fine string
  count: 0x10
  ratio: 1_000.5
  on: true
  seed: 18446744073709551615
  wait: 1h30m
  size: 1.5 KiB
  tags: [a, b, c]
`, func(o *outer) {
			o.Top = "t"
			o.Inner = inner{Name: "2024", Count: 16, Ratio: 1000.5, On: true, Seed: 1<<64 - 1,
				Wait: Duration(90 * time.Minute), Size: 1536, Tags: []string{"a", "b", "c"}}
		}},
		{"list replaces the default list", "inner:\n  tags: []\n", func(o *outer) { o.Inner.Tags = []string{} }},
		{"pointer to struct is allocated", "ptr:\n  count: 3\n", func(o *outer) { o.Ptr = &inner{Count: 3} }},
		{"plain integer size", "inner:\n  size: 4096\n", func(o *outer) { o.Inner.Size = 4096 }},
		{"aliases are followed", "top: &v shared\ninner:\n  name: *v\n", func(o *outer) { o.Top, o.Inner.Name = "shared", "shared" }},
		{"explicit document start", "---\ntop: t\n", func(o *outer) { o.Top = "t" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults()
			if _, err := Decode("t.yaml", []byte(tt.in), &got); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := defaults()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDecodeBad(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown key with a suggestion", "inner:\n  cuont: 1\n", `t.yaml:2: inner.cuont: unknown key (did you mean "count"?)`},
		{"unknown key, abbreviation", "inner:\n  tag: [a]\n", `t.yaml:2: inner.tag: unknown key (did you mean "tags"?)`},
		{"unknown key without a suggestion", "colour: red\n", `t.yaml:1: colour: unknown key (expected one of: top, inner, ptr)`},
		{"ignored field is unknown", "skip: x\n", `t.yaml:1: skip: unknown key (expected one of: top, inner, ptr)`},
		{"odd key is quoted", "\"a b\": 1\n", `t.yaml:1: "a b": unknown key (expected one of: top, inner, ptr)`},
		{"duplicate key", "top: a\ninner: {}\ntop: b\n", `t.yaml:3: top: duplicate key (first set on line 1)`},
		{"word for an integer", "inner:\n  count: ten\n", `t.yaml:2: inner.count: expected an integer, got "ten"`},
		{"fraction for an integer", "inner:\n  count: 1.5\n", `t.yaml:2: inner.count: expected an integer, got "1.5"`},
		{"quoted integer", "inner:\n  count: \"3\"\n", `t.yaml:2: inner.count: expected an integer, got "3"`},
		{"integer too large", "inner:\n  count: 99999999999999999999\n", `t.yaml:2: inner.count: expected an integer that fits in 64 bits, got "99999999999999999999"`},
		{"negative unsigned", "inner:\n  seed: -1\n", `t.yaml:2: inner.seed: expected a non-negative integer, got "-1"`},
		{"not a number", "inner:\n  ratio: fast\n", `t.yaml:2: inner.ratio: expected a number, got "fast"`},
		{"NaN", "inner:\n  ratio: .nan\n", `t.yaml:2: inner.ratio: expected a finite number, got ".nan"`},
		{"yes is not a bool", "inner:\n  on: yes\n", `t.yaml:2: inner.on: expected true or false, got "yes"`},
		{"empty value", "inner:\n  count:\n", `t.yaml:2: inner.count: expected an integer, got an empty value`},
		{"empty section", "inner:\n", `t.yaml:1: inner: expected a mapping of settings, got an empty value`},
		{"scalar for a section", "inner: 3\n", `t.yaml:1: inner: expected a mapping of settings, got "3"`},
		{"list for a string", "top: [a]\n", `t.yaml:1: top: expected a string, got a list`},
		{"scalar for a list", "inner:\n  tags: a\n", `t.yaml:2: inner.tags: expected a list, got "a"`},
		{"bad list item", "inner:\n  tags:\n    - a\n    - [b]\n", `t.yaml:4: inner.tags[1]: expected a string, got a list`},
		{"bare-number duration", "inner:\n  wait: 30\n", `t.yaml:2: inner.wait: expected a duration such as 30s, got the bare number 30 (add a unit: ms, s, m or h)`},
		{"duration without unit, quoted", "inner:\n  wait: \"30\"\n", `t.yaml:2: inner.wait: expected a duration such as 30s, 2m or 1h30m (units ns, us, ms, s, m, h), got "30"`},
		{"days are no unit", "inner:\n  wait: 1d\n", `t.yaml:2: inner.wait: expected a duration such as 30s, 2m or 1h30m (units ns, us, ms, s, m, h), got "1d"`},
		{"size with unknown unit", "inner:\n  size: 1mb\n", `t.yaml:2: inner.size: unknown unit "mb" in "1mb": expected B, kB, MB, GB, TB, KiB, MiB, GiB or TiB`},
		{"negative size", "inner:\n  size: -1\n", `t.yaml:2: inner.size: expected a size such as 512KiB, 1MiB or 10GB, or a whole number of bytes, got "-1"`},
		{"binary tag", "top: !!binary aGk=\n", `t.yaml:1: top: expected a string, got "aGk="`},
		{"custom tag", "top: !secret x\n", `t.yaml:1: top: unsupported YAML tag "!secret": expected a string`},
		{"anchor on an unknown key", "base: &b {count: 1}\n", `t.yaml:1: base: unknown key (expected one of: top, inner, ptr)`},
		{"merge key in a section", "inner:\n  <<: {count: 1}\n", `t.yaml:2: inner: merge keys (<<) are not supported: write the settings out`},
		{"list as a key", "? [a]\n: 1\n", `t.yaml:1: expected a key name, got a list`},
		{"alias inside its anchor", "inner:\n  tags: &x [*x]\n", `t.yaml:2: inner.tags[0]: expected a string, got a list`},
		{"list at the top", "- a\n- b\n", `t.yaml:1: expected a mapping of settings, got a list`},
		{"empty file", "", `t.yaml: empty document: expected a mapping of settings such as "key: value"`},
		{"only comments", "# nothing here\n\n", `t.yaml: empty document: expected a mapping of settings such as "key: value"`},
		{"only a document marker", "---\n", `t.yaml: empty document: expected a mapping of settings such as "key: value"`},
		{"null document", "~\n", `t.yaml: empty document: expected a mapping of settings such as "key: value"`},
		{"two documents", "top: a\n---\ntop: b\n", `t.yaml:2: a second YAML document starts here: expected exactly one document (remove the "---" separator)`},
		{"trailing separator", "top: a\n---\n", `t.yaml:2: a second YAML document starts here: expected exactly one document (remove the "---" separator)`},
		{"syntax error", "top: a\ninner:\n  count: 1\n   name: x\n", `t.yaml:4: invalid YAML: mapping values are not allowed in this context`},
		{"syntax error in the second document", "top: a\n---\n[\n", `t.yaml:3: invalid YAML: did not find expected node content (at the end of the file)`},
		{"tab indentation", "\ttop: a\n", `t.yaml:1: invalid YAML: found character that cannot start any token`},
		{"tab indentation, later", "top: a\n\tinner: {}\n", `t.yaml:2: invalid YAML: found a tab character that violates indentation`},
		{"parser error in a nested mapping", "top: a\ninner:\n  count: 1\n  - x\n", `t.yaml:3: invalid YAML: did not find expected key`},
		{"unclosed flow list", "top: a\ninner:\n  tags: [a, b\n", `t.yaml:3: invalid YAML: did not find expected ',' or ']'`},
		{"undefined tag handle", "top: a\ninner: !t!x 1\n", `t.yaml:2: invalid YAML: found undefined tag handle`},
		{"unknown anchor", "top: a\ninner:\n  name: *nope\n", `t.yaml:3: invalid YAML: unknown anchor 'nope' referenced: define the anchor (&name) before using it`},
		{"invalid UTF-8", "top: a\ninner:\n  name: \xff\n", `t.yaml:3: invalid UTF-8 (byte 0xff): save the file as UTF-8`},
		{"control character", "top: a\r\ninner:\r\n  name: \x01\r\n", `t.yaml:3: control character U+0001 is not allowed in YAML`},
		{"every error, in line order", "inner:\n  count: x\n  ratio: y\ncolour: red\n", strings.Join([]string{
			`t.yaml:2: inner.count: expected an integer, got "x"`,
			`t.yaml:3: inner.ratio: expected a number, got "y"`,
			`t.yaml:4: colour: unknown key (expected one of: top, inner, ptr)`,
		}, "\n")},
		{"long values are shortened", "inner:\n  count: " + strings.Repeat("z", 100) + "\n",
			`t.yaml:2: inner.count: expected an integer, got "` + strings.Repeat("z", 40) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaults()
			_, err := Decode("t.yaml", []byte(tt.in), &o)
			if err == nil {
				t.Fatalf("Decode succeeded, want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			if _, ok := errors.AsType[*FieldError](err); !ok {
				t.Errorf("error %v holds no *FieldError", err)
			}
		})
	}
}

func TestDecodeRecordsLines(t *testing.T) {
	o := defaults()
	loc, err := Decode("t.yaml", []byte("top: a\n\ninner:\n  tags:\n    - a\n    - b\n  count: 2\n"), &o)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{
		"top": 1, "inner": 3, "inner.tags": 4, "inner.tags[0]": 5, "inner.tags[1]": 6, "inner.count": 7, "inner.name": 0, "ptr": 0,
	} {
		if got := loc.Line(key); got != want {
			t.Errorf("Line(%q) = %d, want %d", key, got, want)
		}
		if got := loc.Has(key); got != (want > 0) {
			t.Errorf("Has(%q) = %v, want %v", key, got, want > 0)
		}
	}
}

func TestDecodeNeedsPointerToStruct(t *testing.T) {
	var o outer
	var n int
	for _, out := range []any{o, &n, nil, (*outer)(nil)} {
		if _, err := Decode("t.yaml", []byte("top: a\n"), out); err == nil || !strings.Contains(err.Error(), "pointer to a struct") {
			t.Errorf("Decode(%T) error = %v, want a pointer-to-struct error", out, err)
		}
	}
}

func TestDecodeUnsupportedField(t *testing.T) {
	var o struct {
		M map[string]int `yaml:"m"`
	}
	_, err := Decode("t.yaml", []byte("m: {a: 1}\n"), &o)
	if err == nil || !strings.Contains(err.Error(), "cannot decode into a field of type map[string]int") {
		t.Errorf("error = %v, want unsupported field type", err)
	}
}
