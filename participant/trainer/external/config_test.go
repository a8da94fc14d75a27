package external_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant/trainer/external"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "train.sh")
	plain := filepath.Join(dir, "notes.txt")
	for path, mode := range map[string]os.FileMode{exe: 0o755, plain: 0o644} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	good := external.Config{Command: exe, Args: []string{"--flag"}, Timeout: yamlcfg.Duration(time.Minute), Env: []string{"PATH", "OMP_NUM_THREADS"}, WorkDir: dir}
	tests := []struct {
		name string
		edit func(*external.Config)
		want string // "" for valid
	}{
		{"valid", func(*external.Config) {}, ""},
		{"no work dir is fine", func(c *external.Config) { c.WorkDir = "" }, ""},
		{"no command", func(c *external.Config) { c.Command = "" }, "trainer.external.command: missing: expected the path of the trainer's executable"},
		{"missing command", func(c *external.Config) { c.Command = filepath.Join(dir, "nope") }, "does not exist"},
		{"command is a directory", func(c *external.Config) { c.Command = dir }, "is a directory"},
		{"command not executable", func(c *external.Config) { c.Command = plain }, "is not executable (mode -rw-r--r--)"},
		{"no timeout", func(c *external.Config) { c.Timeout = 0 }, "trainer.external.timeout: missing: expected a duration such as 10m"},
		{"negative timeout", func(c *external.Config) { c.Timeout = -1 }, "trainer.external.timeout: must be > 0"},
		{"timeout too long", func(c *external.Config) { c.Timeout = yamlcfg.Duration(25 * time.Hour) }, "must be at most 24h"},
		{"bad env name", func(c *external.Config) { c.Env = []string{"A-B"} }, `trainer.external.env[0]: expected an environment variable name`},
		{"reserved env", func(c *external.Config) { c.Env = []string{"PATH", "CONFED_ROUND_FILE"} }, "trainer.external.env[1]: CONFED_ROUND_FILE is set by the daemon"},
		{"HOME reserved", func(c *external.Config) { c.Env = []string{"HOME"} }, "HOME is set by the daemon"},
		{"env twice", func(c *external.Config) { c.Env = []string{"PATH", "PATH"} }, "trainer.external.env[1]: PATH is listed twice"},
		{"NUL in arg", func(c *external.Config) { c.Args = []string{"ok", "a\x00b"} }, "trainer.external.args[1]: must not contain a NUL byte"},
		{"long arg", func(c *external.Config) { c.Args = []string{strings.Repeat("a", 5000)} }, "at most 4096 bytes"},
		{"missing work dir", func(c *external.Config) { c.WorkDir = filepath.Join(dir, "gone") }, "trainer.external.work_dir: directory"},
		{"work dir is a file", func(c *external.Config) { c.WorkDir = plain }, "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Args = append([]string{}, good.Args...)
			tt.edit(&c)
			err := c.Validate(nil, "trainer.external")
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigResolve(t *testing.T) {
	var nilCfg *external.Config
	if nilCfg.Resolve("/etc") != nil {
		t.Error("Resolve of nil is not nil")
	}
	c := (&external.Config{Command: "bin/train", WorkDir: "work", Args: []string{"rel"}}).Resolve("/srv/confed")
	if c.Command != "/srv/confed/bin/train" || c.WorkDir != "/srv/confed/work" || c.Args[0] != "rel" {
		t.Errorf("Resolve = %+v", c)
	}
	abs := (&external.Config{Command: "/usr/bin/python3"}).Resolve("/srv/confed")
	if abs.Command != "/usr/bin/python3" || abs.WorkDir != "" {
		t.Errorf("Resolve of absolute paths = %+v", abs)
	}
}
