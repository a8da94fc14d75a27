package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/confed/confed/internal/pki"
)

// ca runs `confed ca ARGS...` and returns stdout, stderr and the error.
func ca(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runCA(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// initCA creates a CA for federation heart and returns its directory.
func initCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	if _, _, err := ca(t, "init", "--dir", dir, "--federation", "heart"); err != nil {
		t.Fatalf("ca init: %v", err)
	}
	return dir
}

// assertNoKeyMaterial fails if out shows any PEM or the key file's contents.
func assertNoKeyMaterial(t *testing.T, out string, keyFile string) {
	t.Helper()
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, "-----BEGIN") {
		t.Errorf("output shows PEM:\n%s", out)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(key), "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(out, line) {
			t.Errorf("output shows key material")
		}
	}
}

func TestCAInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	out, _, err := ca(t, "init", "--dir", dir, "--federation", "heart", "--validity", "1000h")
	if err != nil {
		t.Fatalf("ca init: %v", err)
	}
	caCA, err := pki.LoadCA(dir)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if caCA.Federation != "heart" {
		t.Errorf("federation = %q", caCA.Federation)
	}
	if d := caCA.Cert.NotAfter.Sub(caCA.Cert.NotBefore); d < 1000*60*60e9 || d > 1001*60*60e9 {
		t.Errorf("CA lifetime = %s, want about 1000h", d)
	}
	for _, want := range []string{
		filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), pki.Fingerprint(caCA.Cert), `"heart"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode %v, %v", st.Mode().Perm(), err)
	}
	assertNoKeyMaterial(t, out, filepath.Join(dir, "ca.key"))
}

func TestCAIssue(t *testing.T) {
	caDir := initCA(t)
	out := filepath.Join(t.TempDir(), "coord")
	stdout, _, err := ca(t, "issue", "--ca", caDir, "--role", "coordinator", "--name", "coord",
		"--host", "localhost", "--host", "127.0.0.1", "--validity", "720h", "--out", out)
	if err != nil {
		t.Fatalf("ca issue: %v", err)
	}
	files := pki.Files{
		Cert: filepath.Join(out, "coord.crt"),
		Key:  filepath.Join(out, "coord.key"),
		CA:   filepath.Join(out, "ca.crt"),
	}
	id, err := pki.LocalIdentity(files)
	if err != nil {
		t.Fatalf("LocalIdentity: %v", err)
	}
	if want := (pki.Identity{Federation: "heart", Role: pki.RoleCoordinator, Name: "coord"}); id != want {
		t.Errorf("identity = %v, want %v", id, want)
	}
	cert, err := pki.ReadCertificate(files.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "localhost" || len(cert.IPAddresses) != 1 {
		t.Errorf("hosts = %v %v", cert.DNSNames, cert.IPAddresses)
	}
	for _, want := range []string{
		"confed://heart/coordinator/coord", files.Cert, files.Key, files.CA, pki.Fingerprint(cert),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	assertNoKeyMaterial(t, stdout, files.Key)
	if _, err := pki.ServerTLS(files); err != nil {
		t.Errorf("ServerTLS on issued files: %v", err)
	}
}

func TestCAErrors(t *testing.T) {
	caDir := initCA(t)
	taken := t.TempDir()
	if _, _, err := ca(t, "issue", "--ca", caDir, "--role", "participant", "--name", "h", "--out", taken); err != nil {
		t.Fatal(err)
	}
	issue := func(extra ...string) []string {
		return append([]string{"issue", "--ca", caDir, "--out", t.TempDir()}, extra...)
	}
	tests := []struct {
		name  string
		args  []string
		want  string
		is    error
		usage bool
	}{
		{"no subcommand", nil, "init|issue", nil, true},
		{"unknown subcommand", []string{"revoke"}, `unknown subcommand "revoke"`, nil, true},
		{"help", []string{"init", "-h"}, "", flag.ErrHelp, false},
		{"unknown flag", []string{"init", "--bogus"}, "bogus", nil, true},
		{"init without dir", []string{"init", "--federation", "heart"}, "--dir is required", nil, true},
		{"init without federation", []string{"init", "--dir", t.TempDir()}, "--federation is required", nil, true},
		{"init bad federation", []string{"init", "--dir", t.TempDir(), "--federation", "Heart"}, "invalid character", nil, true},
		{"init extra argument", []string{"init", "--dir", t.TempDir(), "--federation", "heart", "x"}, "unexpected arguments", nil, true},
		{"init overwrite", []string{"init", "--dir", caDir, "--federation", "heart"}, "refusing to overwrite", fs.ErrExist, false},
		{"issue unknown role", issue("--role", "admin", "--name", "a"), `unknown role "admin"`, nil, true},
		{"issue bad name", issue("--role", "participant", "--name", "Bad_Name"), "invalid character", nil, true},
		{"issue name too long", issue("--role", "participant", "--name", strings.Repeat("a", 64)), "longer than 63", nil, true},
		{"issue without role", issue("--name", "a"), "--role is required", nil, true},
		{"issue without name", issue("--role", "operator"), "--name is required", nil, true},
		{"issue zero validity", issue("--role", "operator", "--name", "a", "--validity", "0s"), "must be positive", nil, true},
		{"issue bad host", issue("--role", "coordinator", "--name", "c", "--host", "not a host"), "not a DNS name", nil, false},
		{"issue outliving the CA", issue("--role", "operator", "--name", "a", "--validity", "100000h"), "outlive the CA", nil, false},
		{"issue without CA", []string{"issue", "--ca", t.TempDir(), "--role", "operator", "--name", "a", "--out", t.TempDir()}, "ca.crt", fs.ErrNotExist, false},
		{"issue overwrite", []string{"issue", "--ca", caDir, "--role", "participant", "--name", "h", "--out", taken}, "refusing to overwrite " + filepath.Join(taken, "h.crt"), fs.ErrExist, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := ca(t, tt.args...)
			if err == nil {
				t.Fatalf("no error; output:\n%s", stdout)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if errors.Is(err, errUsage) != tt.usage {
				t.Errorf("error %v: usage error = %v, want %v", err, !tt.usage, tt.usage)
			}
		})
	}
}
