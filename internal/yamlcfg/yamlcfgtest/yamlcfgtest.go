// Package yamlcfgtest helps the daemons' configuration tests: it lays out
// a configuration directory with placeholder files and builds the error
// text that yamlcfg reports for it.
package yamlcfgtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteConfig makes dir/name holding entries (paths relative to it: a
// directory when it ends in "/", else a file containing "x"), writes yaml
// to dir/name/file and returns that path and dir/name, where dir is a new
// temporary directory.
func WriteConfig(t testing.TB, name, file, yaml string, entries ...string) (path, conf string) {
	t.Helper()
	conf = filepath.Join(t.TempDir(), name)
	for _, e := range entries {
		dir := filepath.Join(conf, e)
		if !strings.HasSuffix(e, "/") {
			dir = filepath.Dir(dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(e, "/") {
			if err := os.WriteFile(filepath.Join(conf, e), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	path = filepath.Join(conf, file)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, conf
}

// Errors is the error text yamlcfg reports for the file at path: each of
// want prefixed with path, one a line, with {conf} replaced by conf and
// {dir} by conf's parent.
func Errors(path, conf string, want []string) string {
	s := path + strings.Join(want, "\n"+path)
	return strings.NewReplacer("{conf}", conf, "{dir}", filepath.Dir(conf)).Replace(s)
}
