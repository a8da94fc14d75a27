package heartdisease

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by *ParseError; test for them with errors.Is.
var (
	ErrColumnCount = errors.New("wrong number of columns")
	ErrBadNumber   = errors.New("bad number")
	ErrOutOfRange  = errors.New("value out of range")
	ErrLineTooLong = errors.New("line too long")
)

// ParseError reports a malformed value in a data file. Its message names the file,
// line and column and what was expected, but never the offending value.
type ParseError struct {
	File     string // file name as given to Parse
	Line     int    // 1-based line number
	Column   int    // 1-based byte column of the offending value (or line end)
	Field    string // raw column name, e.g. "cp"; empty for line-level errors
	Expected string // what was expected, e.g. "an integer from 1 to 4"
	Err      error  // one of the sentinel errors above
}

// Error implements error.
func (e *ParseError) Error() string {
	pos := fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	if e.Field == "" {
		return fmt.Sprintf("%s: %v: expected %s", pos, e.Err, e.Expected)
	}
	return fmt.Sprintf("%s: column %q: %v: expected %s", pos, e.Field, e.Err, e.Expected)
}

// Unwrap returns the sentinel error.
func (e *ParseError) Unwrap() error { return e.Err }
