package tee

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"
)

// CheckEvidence is the first check of a Verifier that accepts only
// evidence of kind want: it refuses evidence of another kind, naming both,
// and returns ctx's error if ctx is already done.
func CheckEvidence(ctx context.Context, ev Evidence, want string) error {
	if ev.Kind != want {
		return fmt.Errorf("%s: evidence kind %q: this verifier accepts only %q", want, ev.Kind, want)
	}
	return ctx.Err()
}

// Clock returns now, or time.Now if now is nil: the clock of a Verifier
// whose options may set the time of verification (auditors verifying
// archived evidence).
func Clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// Listed reports whether b is one of the values of an allow-list of a
// policy (measurements, PCRs, reference values), compared byte for byte.
func Listed(list [][]byte, b []byte) bool {
	return slices.ContainsFunc(list, func(x []byte) bool { return bytes.Equal(x, b) })
}
