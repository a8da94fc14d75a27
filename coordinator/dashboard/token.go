package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// tokenBytes is the entropy of a generated token.
const tokenBytes = 32

// maxTokenFile bounds what is read from a token file.
const maxTokenFile = 4096

// Token is the operator token's SHA-256; the dashboard never keeps the
// token itself. The zero Token accepts nothing.
type Token struct {
	sum [32]byte
	set bool
}

// TokenFromSecret returns the Token of secret.
func TokenFromSecret(secret string) Token {
	return Token{sum: sha256.Sum256([]byte(secret)), set: true}
}

// Matches reports, in constant time, whether secret is the token.
func (t Token) Matches(secret string) bool {
	if !t.set || secret == "" {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], t.sum[:]) == 1
}

// Set reports whether a token is configured.
func (t Token) Set() bool { return t.set }

// LoadToken returns the token configured in c: from token_sha256_file, or
// from token_file (generating it first if the file does not exist, in
// which case generated is the new token, to be shown to the operator). With
// neither, it returns the zero Token: only client certificates work.
func LoadToken(c Config) (tok Token, generated string, err error) {
	switch {
	case c.TokenSHA256File != "":
		tok, err = readTokenHash(c.TokenSHA256File)
		return tok, "", err
	case c.TokenFile != "":
		return tokenFile(c.TokenFile)
	}
	return Token{}, "", nil
}

// readTokenHash reads a file holding 64 hex digits (surrounding white
// space allowed, as sha256sum writes "<hex>  -").
func readTokenHash(path string) (Token, error) {
	b, err := readSmall(path)
	if err != nil {
		return Token{}, err
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 || len(fields) > 2 || (len(fields) == 2 && fields[1] != "-") {
		return Token{}, fmt.Errorf("dashboard: %s: expected the token's SHA-256 as 64 hex digits", path)
	}
	sum, err := hex.DecodeString(fields[0])
	if err != nil || len(sum) != sha256.Size {
		return Token{}, fmt.Errorf("dashboard: %s: expected the token's SHA-256 as 64 hex digits, got %d characters", path, len(fields[0]))
	}
	t := Token{set: true}
	copy(t.sum[:], sum)
	return t, nil
}

// tokenFile reads the token in path, or creates path with a new token.
func tokenFile(path string) (Token, string, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		secret, err := writeNewToken(path)
		if err != nil {
			return Token{}, "", err
		}
		return TokenFromSecret(secret), secret, nil
	}
	if err != nil {
		return Token{}, "", fmt.Errorf("dashboard: token file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return Token{}, "", fmt.Errorf("dashboard: token file %s has mode %04o: it must not be readable by group or others (chmod 600)", path, st.Mode().Perm())
	}
	b, err := readSmall(path)
	if err != nil {
		return Token{}, "", err
	}
	secret := strings.TrimSpace(string(b))
	if len(secret) < 16 || strings.ContainsAny(secret, " \t\r\n") {
		return Token{}, "", fmt.Errorf("dashboard: token file %s: expected one token of at least 16 characters on one line", path)
	}
	return TokenFromSecret(secret), "", nil
}

// NewTokenSecret returns a random token: 32 bytes, base64url.
func NewTokenSecret() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("dashboard: generating a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func writeNewToken(path string) (string, error) {
	secret, err := NewTokenSecret()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("dashboard: creating token file: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("dashboard: writing token file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("dashboard: writing token file %s: %w", path, err)
	}
	return secret, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return nil, fmt.Errorf("dashboard: reading %s: %w", path, err)
	}
	if len(b) > maxTokenFile {
		return nil, fmt.Errorf("dashboard: %s is larger than %d bytes: not a token file", path, maxTokenFile)
	}
	return b, nil
}
