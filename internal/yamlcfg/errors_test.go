package yamlcfg

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{File: "f.yaml", Line: 3, Key: "a.b", Msg: "bad"}, "f.yaml:3: a.b: bad"},
		{FieldError{File: "f.yaml", Key: "a.b", Msg: "missing: x"}, "f.yaml: a.b: missing: x"},
		{FieldError{File: "f.yaml", Line: 2, Msg: "invalid YAML"}, "f.yaml:2: invalid YAML"},
		{FieldError{Line: 2, Key: "k", Msg: "bad"}, "line 2: k: bad"},
		{FieldError{Key: "k", Msg: "bad"}, "k: bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestLocatorErrorf(t *testing.T) {
	loc := newLocator("f.yaml")
	loc.lines["a.b"] = 4
	loc.lines["a.list[1]"] = 7
	var nilLoc *Locator
	tests := []struct {
		name string
		err  error
		want FieldError
	}{
		{"present key", loc.Errorf("a.b", "must be > 0, got %v", -1), FieldError{"f.yaml", 4, "a.b", "must be > 0, got -1"}},
		{"list item", loc.Errorf("a.list[1]", "bad"), FieldError{"f.yaml", 7, "a.list[1]", "bad"}},
		{"absent key says missing", loc.Errorf("a.c", "expected x"), FieldError{"f.yaml", 0, "a.c", "missing: expected x"}},
		{"absent key, already missing", loc.Errorf("a.c", "missing: expected x"), FieldError{"f.yaml", 0, "a.c", "missing: expected x"}},
		{"nil locator", nilLoc.Errorf("a.b", "bad %d", 1), FieldError{"", 0, "a.b", "bad 1"}},
		{"Required, absent", loc.Required("a.c", "a name"), FieldError{"f.yaml", 0, "a.c", "missing: expected a name"}},
		{"Required, present but empty", loc.Required("a.b", "a name"), FieldError{"f.yaml", 4, "a.b", "expected a name, got an empty value"}},
		{"Required, nil locator", nilLoc.Required("a.b", "a name"), FieldError{"", 0, "a.b", "missing: expected a name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe, ok := tt.err.(*FieldError)
			if !ok {
				t.Fatalf("got %T, want *FieldError", tt.err)
			}
			if *fe != tt.want {
				t.Errorf("got %+v, want %+v", *fe, tt.want)
			}
		})
	}
	if nilLoc.Has("a.b") || nilLoc.Line("a.b") != 0 {
		t.Error("nil Locator claims to know a key")
	}
}

func TestJoin(t *testing.T) {
	at := func(line int, key string) error { return &FieldError{File: "f", Line: line, Key: key, Msg: "x"} }
	plain := errors.New("plain")
	tests := []struct {
		name string
		errs []error
		want string
	}{
		{"nothing", nil, ""},
		{"only nils", []error{nil, nil}, ""},
		{"one is returned as is", []error{nil, at(2, "a")}, "f:2: a: x"},
		{"ordered by line, stable, unlined first", []error{at(9, "z"), at(2, "b"), plain, at(2, "a"), at(0, "m")},
			"plain\nf: m: x\nf:2: b: x\nf:2: a: x\nf:9: z: x"},
		{"nested joins are flattened and sorted together", []error{Join(at(5, "e"), at(1, "a")), Join(at(3, "c"))},
			"f:1: a: x\nf:3: c: x\nf:5: e: x"},
		{"wrapped errors keep their line", []error{at(7, "g"), fmt.Errorf("ctx: %w", at(4, "d"))}, "ctx: f:4: d: x\nf:7: g: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Join(tt.errs...)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	var many []error
	for i := range 150 {
		many = append(many, at(i+1, "k"))
	}
	err := Join(many...)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 101 || lines[99] != "f:100: k: x" || lines[100] != "... and 50 more errors" {
		t.Errorf("message of 150 errors: %d lines, ending %q", len(lines), lines[len(lines)-1])
	}
	if parts := err.(interface{ Unwrap() []error }).Unwrap(); len(parts) != 150 {
		t.Errorf("Unwrap returned %d errors, want 150", len(parts))
	}
	if err := Join(at(1, "a"), plain); !errors.Is(err, plain) {
		t.Error("errors.Is cannot see through Join")
	}
}
