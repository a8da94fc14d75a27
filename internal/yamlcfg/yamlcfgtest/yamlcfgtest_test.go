package yamlcfgtest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteConfig(t *testing.T) {
	path, conf := WriteConfig(t, "conf", "d.yaml", "a: 1\n", "tls/ca.pem", "state/")
	if filepath.Base(conf) != "conf" || path != filepath.Join(conf, "d.yaml") {
		t.Fatalf("path %q, conf %q", path, conf)
	}
	for name, want := range map[string]string{"d.yaml": "a: 1\n", "tls/ca.pem": "x"} {
		got, err := os.ReadFile(filepath.Join(conf, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(conf, "state")); err != nil || !fi.IsDir() {
		t.Errorf("state: %v, want a directory", err)
	}
}

func TestErrors(t *testing.T) {
	got := Errors("/t/conf/d.yaml", "/t/conf", []string{":1: a {conf}/x", ": b {dir}/y"})
	want := "/t/conf/d.yaml:1: a /t/conf/x\n/t/conf/d.yaml: b /t/y"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
