package yamlcfg

import (
	"fmt"
	"strings"
)

// Locator remembers the line of every key and list item that Decode read
// from a file, so that later checks can point at it. A nil *Locator is
// valid: it knows no file and no lines, which suits configs built in code.
type Locator struct {
	file  string
	lines map[string]int
}

func newLocator(file string) *Locator {
	return &Locator{file: file, lines: make(map[string]int)}
}

// Has reports whether the file set key ("a.b.c", list items "a.b[2]").
func (l *Locator) Has(key string) bool {
	if l == nil {
		return false
	}
	_, ok := l.lines[key]
	return ok
}

// Line returns the line on which the file set key, or 0 if it did not.
func (l *Locator) Line(key string) int {
	if l == nil {
		return 0
	}
	return l.lines[key]
}

// Errorf returns a *FieldError about key, with the file and the line on which
// key was written. When the file does not contain key, Line is 0 and the
// message starts with "missing: " (unless it already starts with
// "missing"). With a nil Locator the error has neither file nor line.
func (l *Locator) Errorf(key string, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if l == nil {
		return &FieldError{Key: key, Msg: msg}
	}
	line, ok := l.lines[key]
	if !ok && !strings.HasPrefix(msg, "missing") {
		msg = "missing: " + msg
	}
	return &FieldError{File: l.file, Line: line, Key: key, Msg: msg}
}
