package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenFileGeneratedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	tok, secret, err := LoadToken(Config{TokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 43 || !tok.Matches(secret) {
		t.Fatalf("generated %q (%d chars), matches=%v", secret, len(secret), tok.Matches(secret))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %04o, want 0600", st.Mode().Perm())
	}
	again, secret2, err := LoadToken(Config{TokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if secret2 != "" || !again.Matches(secret) || again.Matches(secret+"x") {
		t.Errorf("second start regenerated the token or does not accept it")
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadToken(Config{TokenFile: path}); err == nil || !strings.Contains(err.Error(), "readable by group or others") {
		t.Errorf("group-readable token file: %v", err)
	}
}

func TestTokenSHA256File(t *testing.T) {
	dir := t.TempDir()
	sum := sha256.Sum256([]byte(testToken))
	tests := []struct {
		name, content, wantErr string
	}{
		{"bare hex", hex.EncodeToString(sum[:]) + "\n", ""},
		{"sha256sum output", hex.EncodeToString(sum[:]) + "  -\n", ""},
		{"the token itself", testToken + "\n", "64 hex digits"},
		{"empty", "", "64 hex digits"},
		{"short", "abcd\n", "64 hex digits"},
		{"two hashes", hex.EncodeToString(sum[:]) + " " + hex.EncodeToString(sum[:]), "64 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			tok, _, err := LoadToken(Config{TokenSHA256File: path})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one naming %s and %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Matches(testToken) || tok.Matches("other") || tok.Matches("") {
				t.Error("token hash does not match exactly the token")
			}
		})
	}
}

func TestNoTokenMatchesNothing(t *testing.T) {
	tok, gen, err := LoadToken(Config{Listen: ":0"})
	if err != nil || gen != "" || tok.Set() {
		t.Fatalf("LoadToken without token settings: %v %q %v", err, gen, tok.Set())
	}
	for _, s := range []string{"", "x", testToken} {
		if tok.Matches(s) {
			t.Errorf("the zero token accepts %q", s)
		}
	}
}
