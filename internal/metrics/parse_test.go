package metrics

import (
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	in := `# A free comment
# HELP x_total Things.
# TYPE x_total counter
x_total{a="1",} 2 1700000000000

y 3
# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="+Inf"} 2
h_sum 3.5
h_count 2
`
	exp, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Families) != 3 || exp.Family("y").Type != "untyped" {
		t.Fatalf("families %+v", exp.Families)
	}
	if s := exp.Family("x_total").Samples[0]; s.Timestamp != 1700000000000 || s.String() != `x_total{a="1"} 2` {
		t.Errorf("sample %+v", s)
	}
}

// TestParseRefuses lists what the strict parser must refuse, each with a
// word its error must contain.
func TestParseRefuses(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"no final newline", "a 1", "line feed"},
		{"bad name", "1a 1\n", "invalid metric name"},
		{"no value", "a\n", "value"},
		{"bad value", "a one\n", "invalid value"},
		{"hex value", "a 0x10\n", "invalid value"},
		{"extra field", "a 1 2 3\n", "optional timestamp"},
		{"bad timestamp", "a 1 1.5\n", "timestamp"},
		{"unquoted label", "a{b=1} 1\n", "double-quoted"},
		{"bad escape", `a{b="\t"} 1` + "\n", "escape"},
		{"unterminated", `a{b="x} 1` + "\n", "unterminated"},
		{"repeated label", `a{b="1",b="2"} 1` + "\n", "repeated"},
		{"bad label name", `a{b-c="1"} 1` + "\n", "label name"},
		{"missing comma", `a{b="1" c="2"} 1` + "\n", "expected ','"},
		{"duplicate series", "a{b=\"1\"} 1\na{b=\"1\"} 2\n", "twice"},
		{"not contiguous", "a 1\nb 1\na{x=\"1\"} 1\n", "contiguous"},
		{"type after sample", "a 1\n# TYPE a gauge\n", "after its samples"},
		{"two types", "# TYPE a gauge\n# TYPE a counter\n", "second TYPE"},
		{"two helps", "# HELP a x\n# HELP a y\n", "second HELP"},
		{"unknown type", "# TYPE a meter\n", "unknown type"},
		{"negative counter", "# TYPE a counter\na -1\n", "negative"},
		{"no inf bucket", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf"},
		{"count differs", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n", "differs"},
		{"not cumulative", "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "cumulative"},
		{"unordered buckets", "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "smaller bound"},
		{"bucket without le", "# TYPE h histogram\nh_bucket 1\n", "le"},
		{"bare histogram sample", "# TYPE h histogram\nh 1\n", "suffix"},
		{"missing sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", "_sum"},
		{"invalid utf8", "a{b=\"\xff\"} 1\n", "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse(%q) = %v, want an error containing %q", c.in, err, c.want)
			}
		})
	}
}

// FuzzParse: the parser never panics, and what it accepts it accepts again
// after being written back sample by sample.
func FuzzParse(f *testing.F) {
	f.Add([]byte("# HELP a x\n# TYPE a counter\na{b=\"c\\n\"} 1\n"))
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"))
	f.Add([]byte("a 1 2\n\n# comment\nb NaN\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		exp, err := Parse(data)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, fam := range exp.Families {
			if fam.Type != "untyped" {
				b.WriteString("# TYPE " + fam.Name + " " + string(fam.Type) + "\n")
			}
			for _, s := range fam.Samples {
				b.WriteString(s.String() + "\n")
			}
		}
		if _, err := Parse([]byte(b.String())); err != nil {
			t.Fatalf("re-written exposition does not parse: %v\n%s", err, b.String())
		}
	})
}
