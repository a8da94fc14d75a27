package yamlcfg

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// FieldError is one problem with one key of a configuration file.
type FieldError struct {
	// File is the file name given to Decode; "" for a config built in code.
	File string
	// Line is the 1-based line of Key in File, or 0 when the key is not in
	// the file (or there is no file).
	Line int
	// Key is the dotted path of the key, such as "training.learning_rate",
	// with list items as "participants.expected[2]"; "" for the whole file.
	Key string
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error formats e as "file:line: key: msg", leaving out the parts that are
// unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// joined is the error returned by Join: its parts, one per line.
type joined []error

// maxErrorLines bounds the message of a joined error; Unwrap still returns
// every part.
const maxErrorLines = 100

func (j joined) Error() string {
	n := min(len(j), maxErrorLines)
	parts := make([]string, n, n+1)
	for i, err := range j[:n] {
		parts[i] = err.Error()
	}
	if len(j) > n {
		parts = append(parts, fmt.Sprintf("... and %d more errors", len(j)-n))
	}
	return strings.Join(parts, "\n")
}

func (j joined) Unwrap() []error { return j }

// Join combines errs into one error, one per line of its message (the first
// 100, then a count of the rest), ordered by
// the line of the file they refer to. Nil errors are dropped and errors made
// by Join are flattened, so that section checks can be joined again by the
// caller. Errors without a line (missing keys, errors not about a file) come
// first, in the order given. Join returns nil if no error is left, and the
// error itself if only one is.
func Join(errs ...error) error {
	var flat []error
	var add func(error)
	add = func(err error) {
		switch e := err.(type) {
		case nil:
		case joined:
			for _, part := range e {
				add(part)
			}
		default:
			flat = append(flat, err)
		}
	}
	for _, err := range errs {
		add(err)
	}
	slices.SortStableFunc(flat, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
	switch len(flat) {
	case 0:
		return nil
	case 1:
		return flat[0]
	}
	return joined(flat)
}

func lineOf(err error) int {
	if fe, ok := errors.AsType[*FieldError](err); ok {
		return fe.Line
	}
	return 0
}
