package yamlcfg

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {500 * time.Millisecond, "500ms"}, {30 * time.Second, "30s"}, {2 * time.Minute, "2m"},
		{10 * time.Minute, "10m"}, {time.Hour, "1h"}, {90 * time.Minute, "1h30m"}, {time.Hour + time.Second, "1h0m1s"},
		{-5 * time.Second, "-5s"}, {1500 * time.Millisecond, "1.5s"}, {168 * time.Hour, "168h"},
	}
	for _, tt := range tests {
		got := Duration(tt.d).String()
		if got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.d, got, tt.want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != tt.d {
			t.Errorf("%q parses back to %v, %v; want %v", got, back, err, tt.d)
		}
	}
}

func TestDurationYAMLRoundTrip(t *testing.T) {
	type s struct {
		D Duration `yaml:"d"`
	}
	out, err := yaml.Marshal(s{Duration(2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "d: 2m\n" {
		t.Errorf("Marshal = %q, want %q", out, "d: 2m\n")
	}
	var back s
	if _, err := Decode("t.yaml", out, &back); err != nil || back.D != Duration(2*time.Minute) {
		t.Errorf("Decode(%q) = %v, %v", out, back.D, err)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		err  string
	}{
		{in: "0", want: 0},
		{in: "4096", want: 4096},
		{in: "4096B", want: 4096},
		{in: "512KiB", want: 512 << 10},
		{in: "1MiB", want: 1 << 20},
		{in: "1 MiB", want: 1 << 20},
		{in: "1.5GiB", want: 3 << 29},
		{in: "2TiB", want: 2 << 40},
		{in: "10GB", want: 10_000_000_000},
		{in: "1kB", want: 1000},
		{in: "1KB", want: 1000},
		{in: "3MB", want: 3_000_000},
		{in: "1TB", want: 1_000_000_000_000},
		{in: "0.5KiB", want: 512},
		{in: "8388607TiB", want: 8388607 << 40},
		{in: "1mb", err: `unknown unit "mb" in "1mb": expected B, kB, MB, GB, TB, KiB, MiB, GiB or TiB`},
		{in: "1EiB", err: `unknown unit "EiB"`},
		{in: "0.5B", err: `"0.5B" is not a whole number of bytes`},
		{in: "8388608TiB", err: `"8388608TiB" is too large`},
		{in: "ten", err: `expected a size such as 512KiB, 1MiB or 10GB, or a whole number of bytes, got "ten"`},
		{in: "-1MiB", err: `got "-1MiB"`},
		{in: "1e3", err: `got "1e3"`},
		{in: "", err: `got ""`},
		{in: ".5MiB", err: `got ".5MiB"`},
		{in: "1  MiB", err: `got "1  MiB"`},
		{in: strings.Repeat("9", 70), err: `got "99999`},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseByteSize(%q): %v", tt.in, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseByteSize(%q) = %d, want %d", tt.in, got, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseByteSize(%q) error = %v, want it to contain %q", tt.in, err, tt.err)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		b    ByteSize
		want string
	}{
		{0, "0B"}, {1, "1B"}, {1023, "1023B"}, {1000, "1kB"}, {KiB, "1KiB"}, {4 * KiB, "4KiB"}, {MiB, "1MiB"},
		{GiB, "1GiB"}, {10_000_000_000, "10GB"}, {1_000_000_000_000, "1TB"}, {TiB, "1TiB"}, {1536, "1536B"},
		{3 << 29, "1536MiB"},
	}
	for _, tt := range tests {
		if got := tt.b.String(); got != tt.want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(tt.b), got, tt.want)
		}
		if back, err := ParseByteSize(tt.b.String()); err != nil || back != tt.b {
			t.Errorf("%q parses back to %d, %v; want %d", tt.b.String(), back, err, tt.b)
		}
	}
}

func TestByteSizeYAML(t *testing.T) {
	type s struct {
		B ByteSize `yaml:"b"`
	}
	tests := []struct {
		in   string
		want ByteSize
		err  string
	}{
		{in: "b: 1GiB", want: GiB},
		{in: "b: 1048576", want: MiB},
		{in: "b: \" 2MiB \"", want: 2 * MiB},
		{in: "b: 1.5", err: `t.yaml:1: b: expected a size such as 512KiB, 1MiB or 10GB, or a whole number of bytes, got "1.5"`},
		{in: "b: true", err: `t.yaml:1: b: expected a size such as 512KiB, 1MiB or 10GB, or a whole number of bytes, got "true"`},
		{in: "b: [1]", err: `t.yaml:1: b: expected a size such as 512KiB, 1MiB or 10GB, or a whole number of bytes, got a list`},
		{in: "b:", err: `t.yaml:1: b: expected a size such as 512KiB, 1MiB or 10GB, or a whole number of bytes, got an empty value`},
	}
	for _, tt := range tests {
		var got s
		_, err := Decode("t.yaml", []byte(tt.in), &got)
		switch {
		case tt.err == "" && (err != nil || got.B != tt.want):
			t.Errorf("%q: got %d, %v; want %d", tt.in, got.B, err, tt.want)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%q: error = %v, want %s", tt.in, err, tt.err)
		}
	}
	out, err := yaml.Marshal(s{B: GiB})
	if err != nil || string(out) != "b: 1GiB\n" {
		t.Errorf("Marshal = %q, %v; want %q", out, err, "b: 1GiB\n")
	}
}

func TestAutoIntYAML(t *testing.T) {
	type s struct {
		K AutoInt `yaml:"k"`
	}
	tests := []struct {
		in      string
		want    AutoInt
		wantErr string
	}{
		{"k: auto", AutoInt{}, ""},
		{"k: 3", FixedInt(3), ""},
		{"k: 0", FixedInt(0), ""}, // fixed to 0: the daemon's range check refuses it, not silently auto
		{"k: -2", FixedInt(-2), ""},
		{"k: many", AutoInt{}, `expected an integer or "auto", got "many"`},
		{"k: 1.5", AutoInt{}, `expected an integer or "auto"`},
		{"k: [1]", AutoInt{}, `expected an integer or "auto"`},
	}
	for _, tt := range tests {
		var got s
		err := yaml.Unmarshal([]byte(tt.in), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.K != tt.want {
			t.Errorf("%q: got %v, %v; want %v", tt.in, got.K, err, tt.want)
		}
		out, err := yaml.Marshal(got)
		if err != nil || strings.TrimSpace(string(out)) != tt.in {
			t.Errorf("%q marshals back to %q, %v", tt.in, out, err)
		}
	}
	if AutoInRange(nil, "k", AutoInt{}, 1, 2) != nil || AutoInRange(nil, "k", FixedInt(0), 1, 2) == nil {
		t.Error("AutoInRange: auto must pass and a fixed 0 must fail [1, 2]")
	}
}
