package fixedpoint

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNonFinite: an input value is NaN or ±Inf (an *ElementError names it).
	ErrNonFinite = errors.New("not finite")
	// ErrOutOfRange: an element of a quantised update lies outside
	// ±Params.MaxAbs(weight), so it cannot be the quantisation of a delta
	// clipped to ±Clip (an *ElementError names it).
	ErrOutOfRange = errors.New("outside the range of a quantised update")
	// ErrBadWeight: a weight is 0 or above Params.MaxWeight.
	ErrBadWeight = errors.New("bad weight")
	// ErrFull: a Sum already holds MaxParticipants updates.
	ErrFull = errors.New("sum already holds MaxParticipants updates")
	// ErrLength: a vector or byte slice does not have the expected length.
	ErrLength = errors.New("length mismatch")
	// ErrEmpty: Mean of a Sum to which nothing was added.
	ErrEmpty = errors.New("nothing added")
	// ErrWouldWrap: Params for which the sum could wrap the ring (a *WrapError).
	ErrWouldWrap = errors.New("sum could wrap the ring")
)

// ElementError reports a bad element of a vector, by index. It never
// contains the element's value, only what is wrong with it.
type ElementError struct {
	Op     string // "quantise", "add", "mean"
	Index  int    // index into the flat vector
	Detail string // what is wrong, e.g. "is NaN"
	Err    error  // ErrNonFinite or ErrOutOfRange
}

// Error returns "fixedpoint: <op>: element <index> <detail>".
func (e *ElementError) Error() string {
	return fmt.Sprintf("fixedpoint: %s: element %d %s", e.Op, e.Index, e.Detail)
}

// Unwrap returns the sentinel error.
func (e *ElementError) Unwrap() error { return e.Err }
