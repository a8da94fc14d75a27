package yamlcfg

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Required reports that key has no value. what says what was expected, such
// as `a name such as "heart-disease"`. The message is "missing: expected
// <what>" when the file does not set key, and "expected <what>, got an empty
// value" when it sets it to "".
func (l *Locator) Required(key, what string) error {
	if l.Has(key) {
		return l.Errorf(key, "expected %s, got an empty value", what)
	}
	return l.Errorf(key, "missing: expected %s", what)
}

// OneOf returns nil if got is one of allowed, and otherwise an error that
// lists them and suggests the closest.
func (l *Locator) OneOf(key, got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	if got == "" {
		return l.Required(key, Alternatives(allowed))
	}
	msg := fmt.Sprintf("must be %s, got %s", Alternatives(allowed), quoteValue(got))
	if s := Suggest(got, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return l.Errorf(key, "%s", msg)
}

// Alternatives formats values as "a", "a or b", "a, b or c".
func Alternatives(values []string) string {
	switch len(values) {
	case 0:
		return "nothing"
	case 1:
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// InRange returns nil if lo <= v <= hi, and otherwise an error about key
// saying so.
func InRange[T cmp.Ordered](l *Locator, key string, v, lo, hi T) error {
	if v >= lo && v <= hi {
		return nil
	}
	return l.Errorf(key, "must be between %v and %v, got %v", lo, hi, v)
}

// NonNegative returns nil if v is a finite number >= 0.
func NonNegative(l *Locator, key string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return l.Errorf(key, "must be a finite number >= 0, got %v", v)
	case v < 0:
		return l.Errorf(key, "must be >= 0, got %v", v)
	}
	return nil
}

// CheckDuration returns nil if 0 < d <= limit.
func CheckDuration(l *Locator, key string, d, limit Duration) error {
	switch {
	case d <= 0:
		return l.Errorf(key, "must be > 0, got %s", d)
	case d > limit:
		return l.Errorf(key, "must be at most %s, got %s", limit, d)
	}
	return nil
}

// ResolvePath returns p joined to dir, unless p is empty or absolute. Config
// types use it at Parse time so that relative paths in a file are relative
// to the directory of that file.
func ResolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// CheckFile returns nil if path names an existing regular file (after
// symbolic links), and otherwise an error about key naming the path.
func CheckFile(l *Locator, key, path string) error {
	if path == "" {
		return l.Required(key, "the path of a file")
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return l.Errorf(key, "file %q does not exist", path)
	case err != nil:
		return l.Errorf(key, "cannot use file %q: %v", path, err)
	case st.IsDir():
		return l.Errorf(key, "%q is a directory, expected a file", path)
	case !st.Mode().IsRegular():
		return l.Errorf(key, "%q is not a regular file", path)
	}
	return nil
}

// CheckAddress returns nil if addr is a host:port. A listen address may
// leave the host empty (":7443", every interface) and use port 0 (any free
// port); an address to dial needs both a host and a port from 1 to 65535.
func CheckAddress(l *Locator, key, addr string, listen bool) error {
	example := "127.0.0.1:7443"
	if addr == "" {
		return l.Required(key, "host:port such as "+example)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || strings.ContainsAny(addr, " \t\r\n") {
		return l.Errorf(key, "expected host:port such as %s, got %s", example, quoteValue(addr))
	}
	if host == "" && !listen {
		return l.Errorf(key, "expected host:port with a host, such as %s, got %s", example, quoteValue(addr))
	}
	lo := 1
	if listen {
		lo = 0
	}
	if p, err := strconv.Atoi(port); err != nil || p < lo || p > 65535 {
		return l.Errorf(key, "port must be a number from %d to 65535, got %s", lo, quoteValue(port))
	}
	return nil
}

// CheckCreatable returns nil if path can be used for a file (or, with dir,
// a directory) that the daemon creates when it is missing: either path
// exists and is of that kind, or its parent directory exists.
func CheckCreatable(l *Locator, key, path string, dir bool) error {
	kind := "file"
	if dir {
		kind = "directory"
	}
	if path == "" {
		return l.Required(key, "the path of a "+kind)
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if parent := filepath.Dir(path); !isDir(parent) {
			return l.Errorf(key, "cannot create %q: directory %q does not exist", path, parent)
		}
		return nil
	case err != nil:
		return l.Errorf(key, "cannot use %s %q: %v", kind, path, err)
	case dir && !st.IsDir():
		return l.Errorf(key, "%q is not a directory", path)
	case !dir && !st.Mode().IsRegular():
		return l.Errorf(key, "%q is not a regular file", path)
	}
	return nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
