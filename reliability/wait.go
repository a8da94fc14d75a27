package reliability

import (
	"fmt"
	"time"
)

// pollEvery is how often waitFor checks its condition.
const pollEvery = 25 * time.Millisecond

// waitFor polls cond until it holds or timeout passes. cond returns whether
// it holds and what it saw; the error names what was awaited, for how long,
// and the last thing seen.
func waitFor(timeout time.Duration, what string, cond func() (bool, string, error)) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, saw, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		last = saw
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %s for %s; last saw: %s", timeout, what, last)
		}
		time.Sleep(pollEvery)
	}
}
