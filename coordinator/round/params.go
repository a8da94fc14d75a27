package round

import (
	"fmt"
	"time"
)

// Params configure one round.
type Params struct {
	// Round is the round number, at least 1 (round 0 is the initial model,
	// which has no collection).
	Round uint64 `json:"round"`
	// Expected are the participants expected to contribute: at least one,
	// no empty or duplicate names.
	Expected []string `json:"expected"`
	// Min is the minimum number of included updates for the round to
	// aggregate when the collection deadline passes: 1 ≤ Min ≤ len(Expected).
	Min int `json:"min"`
	// ReadyTimeout bounds Open, CollectTimeout bounds Collecting and
	// AggregateTimeout bounds Aggregating; each must be positive.
	ReadyTimeout     time.Duration `json:"ready_timeout"`
	CollectTimeout   time.Duration `json:"collect_timeout"`
	AggregateTimeout time.Duration `json:"aggregate_timeout"`
}

// ParamError reports an invalid field of Params (or the now given to New).
type ParamError struct {
	Field   string // "Expected", "Min", "ReadyTimeout", "now", ...
	Problem string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("round: invalid %s: %s", e.Field, e.Problem)
}

// validate returns a *ParamError for the first invalid field of p.
func (p Params) validate() error {
	if p.Round == 0 {
		return &ParamError{"Round", "must be at least 1 (round 0 is the initial model)"}
	}
	if len(p.Expected) == 0 {
		return &ParamError{"Expected", "no participants"}
	}
	seen := make(map[string]bool, len(p.Expected))
	for i, id := range p.Expected {
		if id == "" {
			return &ParamError{fmt.Sprintf("Expected[%d]", i), "empty participant name"}
		}
		if seen[id] {
			return &ParamError{fmt.Sprintf("Expected[%d]", i), fmt.Sprintf("duplicate participant %q", id)}
		}
		seen[id] = true
	}
	if p.Min < 1 || p.Min > len(p.Expected) {
		return &ParamError{"Min", fmt.Sprintf("%d is not between 1 and the %d expected participants", p.Min, len(p.Expected))}
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"ReadyTimeout", p.ReadyTimeout}, {"CollectTimeout", p.CollectTimeout}, {"AggregateTimeout", p.AggregateTimeout}} {
		if d.v <= 0 {
			return &ParamError{d.field, fmt.Sprintf("%v is not positive", d.v)}
		}
	}
	return nil
}
