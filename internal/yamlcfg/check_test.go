package yamlcfg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testLocator knows "set" on line 5 and nothing else.
func testLocator() *Locator {
	l := newLocator("f.yaml")
	l.lines["set"] = 5
	return l
}

// errText is err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestChecks(t *testing.T) {
	l := testLocator()
	dir := t.TempDir()
	file := filepath.Join(dir, "f.pem")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope.pem")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"OneOf ok", l.OneOf("set", "b", "a", "b"), ""},
		{"OneOf suggests", l.OneOf("set", "jsn", "text", "json"), `f.yaml:5: set: must be text or json, got "jsn" (did you mean "json"?)`},
		{"OneOf lists three", l.OneOf("set", "x", "a", "b", "c"), `f.yaml:5: set: must be a, b or c, got "x"`},
		{"OneOf empty", l.OneOf("set", "", "a", "b"), `f.yaml:5: set: expected a or b, got an empty value`},
		{"InRange ok", InRange(l, "set", 3, 1, 3), ""},
		{"InRange low", InRange(l, "set", 0, 1, 3), "f.yaml:5: set: must be between 1 and 3, got 0"},
		{"InRange sizes", InRange(l, "set", 2*MiB+1, 4*KiB, 4*MiB), ""},
		{"InRange sizes high", InRange(l, "set", 8*MiB, 4*KiB, 4*MiB), "f.yaml:5: set: must be between 4KiB and 4MiB, got 8MiB"},
		{"NonNegative ok", NonNegative(l, "set", 0), ""},
		{"NonNegative", NonNegative(l, "set", -0.5), "f.yaml:5: set: must be >= 0, got -0.5"},
		{"CheckDuration ok", CheckDuration(l, "set", Duration(time.Second), Duration(time.Hour)), ""},
		{"CheckDuration negative", CheckDuration(l, "set", Duration(-5*time.Second), Duration(time.Hour)), "f.yaml:5: set: must be > 0, got -5s"},
		{"CheckDuration zero", CheckDuration(l, "set", 0, Duration(time.Hour)), "f.yaml:5: set: must be > 0, got 0s"},
		{"CheckDuration too long", CheckDuration(l, "set", Duration(2*time.Hour), Duration(time.Hour)), "f.yaml:5: set: must be at most 1h, got 2h"},
		{"CheckFile ok", CheckFile(l, "set", file), ""},
		{"CheckFile missing", CheckFile(l, "set", missing), `f.yaml:5: set: file "` + missing + `" does not exist`},
		{"CheckFile directory", CheckFile(l, "set", dir), `f.yaml:5: set: "` + dir + `" is a directory, expected a file`},
		{"CheckFile empty", CheckFile(l, "other", ""), `f.yaml: other: missing: expected the path of a file`},
		{"CheckCreatable existing file", CheckCreatable(l, "set", file, false), ""},
		{"CheckCreatable new file", CheckCreatable(l, "set", missing, false), ""},
		{"CheckCreatable new dir", CheckCreatable(l, "set", missing, true), ""},
		{"CheckCreatable dir for file", CheckCreatable(l, "set", dir, false), `f.yaml:5: set: "` + dir + `" is not a regular file`},
		{"CheckCreatable file for dir", CheckCreatable(l, "set", file, true), `f.yaml:5: set: "` + file + `" is not a directory`},
		{"CheckCreatable no parent", CheckCreatable(l, "set", filepath.Join(missing, "db"), false),
			`f.yaml:5: set: cannot create "` + filepath.Join(missing, "db") + `": directory "` + missing + `" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errText(tt.err); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCheckAddress(t *testing.T) {
	l := testLocator()
	tests := []struct {
		addr   string
		listen bool
		want   string
	}{
		{"127.0.0.1:7443", false, ""},
		{"coordinator.example:443", false, ""},
		{"[::1]:7443", false, ""},
		{":7443", true, ""},
		{"127.0.0.1:0", true, ""},
		{":7443", false, `f.yaml:5: set: expected host:port with a host, such as 127.0.0.1:7443, got ":7443"`},
		{"127.0.0.1:0", false, `f.yaml:5: set: port must be a number from 1 to 65535, got "0"`},
		{"localhost", false, `f.yaml:5: set: expected host:port such as 127.0.0.1:7443, got "localhost"`},
		{"localhost:https", false, `f.yaml:5: set: port must be a number from 1 to 65535, got "https"`},
		{"localhost:70000", true, `f.yaml:5: set: port must be a number from 0 to 65535, got "70000"`},
		{"my host:1", false, `f.yaml:5: set: expected host:port such as 127.0.0.1:7443, got "my host:1"`},
		{"", false, `f.yaml:5: set: expected host:port such as 127.0.0.1:7443, got an empty value`},
	}
	for _, tt := range tests {
		if got := errText(CheckAddress(l, "set", tt.addr, tt.listen)); got != tt.want {
			t.Errorf("CheckAddress(%q, listen=%v)\n got %q\nwant %q", tt.addr, tt.listen, got, tt.want)
		}
	}
}

func TestResolvePath(t *testing.T) {
	tests := []struct{ dir, p, want string }{
		{"/etc/confed", "certs/a.pem", "/etc/confed/certs/a.pem"},
		{"/etc/confed", "../a.pem", "/etc/a.pem"},
		{"/etc/confed", "/abs/a.pem", "/abs/a.pem"},
		{"/etc/confed", "", ""},
		{".", "a.pem", "a.pem"},
		{"conf", "./a.pem", "conf/a.pem"},
	}
	for _, tt := range tests {
		if got := ResolvePath(tt.dir, tt.p); got != tt.want {
			t.Errorf("ResolvePath(%q, %q) = %q, want %q", tt.dir, tt.p, got, tt.want)
		}
	}
}

func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type cfg struct {
		TLS TLSFiles `yaml:"tls"`
	}
	var c cfg
	loc, err := Decode("d.yaml", []byte("tls:\n  cert: cert.pem\n  key: key.pem\n  ca: ca.pem\n"), &c)
	if err != nil {
		t.Fatal(err)
	}
	got := c.TLS.Resolve(dir)
	want := TLSFiles{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), CA: filepath.Join(dir, "ca.pem")}
	if got != want {
		t.Fatalf("Resolve = %+v, want %+v", got, want)
	}
	wantErr := `d.yaml:4: tls.ca: file "` + want.CA + `" does not exist`
	if e := errText(got.Validate(loc, "tls")); e != wantErr {
		t.Errorf("Validate\n got %q\nwant %q", e, wantErr)
	}
	empty := errText(TLSFiles{}.Validate(loc, "peer"))
	for _, w := range []string{
		"d.yaml: peer.cert: missing: expected the path of this daemon's PEM certificate",
		"d.yaml: peer.key: missing: expected the path of this daemon's PEM private key",
		"d.yaml: peer.ca: missing: expected the path of the federation's PEM CA certificate",
	} {
		if !strings.Contains(empty, w) {
			t.Errorf("Validate of empty TLSFiles = %q, want it to contain %q", empty, w)
		}
	}
}

func TestLogConfig(t *testing.T) {
	l := newLocator("f.yaml")
	l.lines["log.level"], l.lines["log.format"] = 8, 9
	tests := []struct {
		c    LogConfig
		want string
	}{
		{DefaultLog(), ""},
		{LogConfig{Level: "debug", Format: "json"}, ""},
		{LogConfig{Level: "warning", Format: "text"}, `f.yaml:8: log.level: must be debug, info, warn or error, got "warning" (did you mean "warn"?)`},
		{LogConfig{Level: "info", Format: "logfmt"}, `f.yaml:9: log.format: must be text or json, got "logfmt"`},
	}
	for _, tt := range tests {
		if got := errText(tt.c.Validate(l, "log")); got != tt.want {
			t.Errorf("%+v\n got %q\nwant %q", tt.c, got, tt.want)
		}
	}
}
