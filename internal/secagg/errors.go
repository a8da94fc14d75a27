package secagg

import (
	"errors"
	"fmt"
)

// Reasons a message is refused or a session fails.
const (
	ReasonMalformed      = "malformed"       // bytes that do not decode or fields out of range
	ReasonWrongSession   = "wrong_session"   // a message of another session (round)
	ReasonOutOfStage     = "out_of_stage"    // a message of another stage than the current one
	ReasonReplay         = "replay"          // a second message from the same sender in a stage
	ReasonUnknownSender  = "unknown_sender"  // a sender outside the roster
	ReasonBadSignature   = "bad_signature"   // a signature that does not verify
	ReasonNotExpected    = "not_expected"    // a sender the stage does not expect (dropped earlier)
	ReasonBadShare       = "bad_share"       // a share that does not decrypt or is not addressed right
	ReasonInconsistent   = "inconsistent"    // contradicts what the participant saw or signed
	ReasonTooFew         = "too_few"         // fewer than the threshold: the session fails closed
	ReasonBadReconstruct = "bad_reconstruct" // a reconstructed secret does not match its commitment
	ReasonFailed         = "session_failed"  // the session already failed
	ReasonHashMismatch   = "hash_mismatch"   // a streamed input that does not match its signed hash
)

// ErrRefused is matched (errors.Is) by every *RefusedError.
var ErrRefused = errors.New("secagg: refused")

// RefusedError is a refused message or a failed session, with the reason
// (one of the Reason constants). It never contains keys, shares or inputs.
type RefusedError struct {
	Reason string
	Detail string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("secagg: %s: %s", e.Reason, e.Detail) }

// Unwrap returns ErrRefused.
func (e *RefusedError) Unwrap() error { return ErrRefused }

func refuse(reason, format string, args ...any) *RefusedError {
	return &RefusedError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the reason of a *RefusedError in err's chain, or "".
func ReasonOf(err error) string {
	if e, ok := errors.AsType[*RefusedError](err); ok {
		return e.Reason
	}
	return ""
}
