package aggregator

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/internal/metrics/instrument"
)

// TestUpdateReasonsCoverFedavg keeps instrument.UpdateReasons in step with
// the refusal codes of fedavg and of the fixed-point check.
func TestUpdateReasonsCoverFedavg(t *testing.T) {
	for _, r := range []fedavg.Reason{fedavg.ReasonWrongShape, fedavg.ReasonNonFinite, fedavg.ReasonTooLarge,
		fedavg.ReasonTruncated, fedavg.ReasonNormExceeded, fedavg.ReasonHashMismatch, fedavg.ReasonSizeMismatch,
		fedavg.ReasonBadWeight, fedavg.ReasonBadStream, ReasonOutOfRange} {
		if !slices.Contains(instrument.UpdateReasons, string(r)) {
			t.Errorf("reason %q is not a label value of the refusal metrics", r)
		}
	}
}

// TestRefusalCodes maps the aggregator's refusal messages onto codes.
func TestRefusalCodes(t *testing.T) {
	for msg, want := range map[string]string{
		fmt.Sprintf("%s: update declares 9 bytes", fedavg.ReasonSizeMismatch):          "size_mismatch",
		(&fedavg.RefusalError{Reason: fedavg.ReasonNonFinite, Detail: "x"}).Error():    "non_finite",
		`participant "m" is not expected in this federation's rounds`:                  "not_member",
		"round 2 requires participants to attest, and \"m\" presented no TEE evidence": "not_attested",
		"no round 3 is collecting here":                                                "round_not_open",
		"round 3 is no longer collecting":                                              "round_not_open",
		"update was trained from model 00, round 2 starts from 01":                     "base_model_mismatch",
		"the coordinator could not be told of the update: unavailable":                 "coordinator_unavailable",
		"waiting for a staging buffer: " + errors.New("context canceled").Error():      instrument.Other,
	} {
		if got := refusalCode(msg); got != want {
			t.Errorf("refusalCode(%q) = %q, want %q", msg, got, want)
		}
	}
}
