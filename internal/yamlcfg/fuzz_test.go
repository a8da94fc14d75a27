package yamlcfg

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse decodes arbitrary bytes into a struct with every supported kind
// of field. Decode must not panic, and every error must be a FieldError
// that names the file and a line within it.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"top: t\ninner:\n  name: n\n  count: 3\n  ratio: 0.5\n  on: true\n  seed: 7\n  wait: 30s\n  size: 1MiB\n  tags: [a, b]\n",
		"inner:\n  cuont: 1\n  count: ten\n  count: 2\n",
		"top: &a x\nptr: {name: *a}\n",
		"inner:\n  tags: &x [*x]\n",
		"inner:\n  <<: {count: 1}\n",
		"a: 1\n---\nb: 2\n",
		"- 1\n- 2\n",
		"inner: {wait: 30, size: -1, seed: -1, ratio: .nan}\n",
		"top: !!binary aGk=\n? [a]\n: b\n",
		"\ttop: x\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var o outer
		_, err := Decode("fuzz.yaml", data, &o)
		if err == nil {
			return
		}
		lines := maxLines(data)
		var parts []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			parts = j.Unwrap()
		} else {
			parts = []error{err}
		}
		for _, part := range parts {
			fe, ok := errors.AsType[*FieldError](part)
			if !ok {
				t.Fatalf("error %q is not a *FieldError", part)
			}
			if fe.File != "fuzz.yaml" || fe.Line < 0 || fe.Line > lines {
				t.Fatalf("error %q: file %q, line %d of %d", part, fe.File, fe.Line, lines)
			}
		}
	})
}

// FuzzParseByteSize checks that every size ParseByteSize accepts is
// non-negative and survives a round trip through String.
func FuzzParseByteSize(f *testing.F) {
	for _, seed := range []string{"0", "1MiB", "1.5 GiB", "10GB", "4096B", "1kB", "8388607TiB", "1mb", "-1", "0.0001KiB"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if b < 0 {
			t.Fatalf("ParseByteSize(%q) = %d < 0", s, b)
		}
		back, err := ParseByteSize(b.String())
		if err != nil || back != b {
			t.Fatalf("ParseByteSize(%q) = %d; String %q parses back to %d, %v", s, b, b.String(), back, err)
		}
	})
}

// maxLines bounds the number of lines YAML can see in data: every CR, LF,
// NEL, LS and PS may break a line.
func maxLines(data []byte) int {
	n := 1
	for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
		n += bytes.Count(data, []byte(br))
	}
	return n
}
