package external

import "fmt"

// Error is a failed run of the external trainer: the step or file (Where)
// and what went wrong. The daemon reports it to the coordinator as
// "trainer_failed".
type Error struct {
	// Where is the file ("model.safetensors", "metrics.json") or step
	// ("start", "exit", "timeout", "work directory") that failed.
	Where string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("external trainer: %s: %v", e.Where, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

func fail(where string, err error) *Error { return &Error{Where: where, Err: err} }

func failf(where, format string, args ...any) *Error {
	return &Error{Where: where, Err: fmt.Errorf(format, args...)}
}
