package check

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// placeholder is the only shape a committed Secret value may have.
var placeholder = regexp.MustCompile(`^(REPLACE-WITH-[A-Z0-9-]+)?$`)

// keyMaterial matches PEM blocks and long runs of base64 or hex, the shapes
// of real keys and certificates.
var keyMaterial = regexp.MustCompile(`-----BEGIN [A-Z ]+-----|[A-Za-z0-9+/]{64,}={0,2}`)

// checkSecrets requires every Secret to hold only placeholders.
func checkSecrets(t *testing.T, objs []object) {
	t.Helper()
	for _, o := range objs {
		s, ok := o.obj.(*corev1.Secret)
		if !ok {
			continue
		}
		for k, v := range secretStrings(s) {
			if !secretValueOK(v) {
				t.Errorf("%s: Secret %s key %s holds %q; committed Secrets may hold only placeholders REPLACE-WITH-...", o.source, s.Name, k, truncate(v))
			}
		}
	}
}

func secretValueOK(v string) bool { return placeholder.MatchString(v) && !keyMaterial.MatchString(v) }

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// TestNoKeyMaterialCommitted scans every file under deploy/ for PEM private
// keys and certificates.
func TestNoKeyMaterialCommitted(t *testing.T) {
	pem := regexp.MustCompile(`-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----`)
	root := filepath.Join(repoRoot(t), "deploy")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if pem.Match(data) && !strings.HasSuffix(path, "_test.go") {
			t.Errorf("%s contains PEM key material; deploy/ holds templates only", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("scanned only %d files under %s", n, root)
	}
}

func TestSecretCheckCatchesKeys(t *testing.T) {
	for _, tt := range []struct {
		value string
		ok    bool
	}{
		{"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----", false},
		{strings.Repeat("QUJD", 20), false},
		{"hunter2", false},
		{"REPLACE-WITH-THE-CA-CERTIFICATE-PEM", true},
		{"", true},
	} {
		if got := secretValueOK(tt.value); got != tt.ok {
			t.Errorf("secretValueOK(%q) = %v, want %v", truncate(tt.value), got, tt.ok)
		}
	}
}
