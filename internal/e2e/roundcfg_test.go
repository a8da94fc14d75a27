package e2e

import (
	"fmt"
	"strings"
)

// threeHospitals are the names most federations here expect.
var threeHospitals = []string{"cleveland", "hungary", "long-beach-va"}

// roundOpts describes a heart-disease round configuration; roundYAML
// fills in what is left zero.
type roundOpts struct {
	rounds        int
	expected      []string // threeHospitals when nil
	min           int      // participants.min; 0 leaves the key out
	joinTimeout   string   // timing.join_timeout; 30s when ""
	roundDeadline string   // timing.round_deadline; 30s when ""
	noTraining    bool     // leave the training section out
	sections      string   // further top-level sections (aggregation, privacy...), placed before tee
	tee           string   // the tee section's body; "  aggregator: simulated\n" when ""
}

// roundYAML is the round configuration o describes: the model is a
// 13-feature logistic regression, the aggregator and ready timeouts are
// 30s, and training is 5 epochs at learning rate 0.05 in batches of 16.
func roundYAML(o roundOpts) string {
	expected := o.expected
	if expected == nil {
		expected = threeHospitals
	}
	var b strings.Builder
	fmt.Fprintf(&b, "federation: e2e\nrounds: %d\nmodel:\n  kind: logistic_regression\n  features: 13\n", o.rounds)
	fmt.Fprintf(&b, "participants:\n  expected: [%s]\n", strings.Join(expected, ", "))
	if o.min > 0 {
		fmt.Fprintf(&b, "  min: %d\n", o.min)
	}
	fmt.Fprintf(&b, "timing:\n  join_timeout: %s\n  aggregator_ready_timeout: 30s\n  round_deadline: %s\n  aggregation_timeout: 30s\n",
		orDefault(o.joinTimeout, "30s"), orDefault(o.roundDeadline, "30s"))
	if !o.noTraining {
		b.WriteString("training:\n  local_epochs: 5\n  learning_rate: 0.05\n  batch_size: 16\n")
	}
	b.WriteString(o.sections)
	b.WriteString("tee:\n" + orDefault(o.tee, "  aggregator: simulated\n"))
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fixedPointSection is an aggregation section for exact fixed-point
// aggregation in Z_{2^bits} at the given scale (clip 1, max weight 1000).
func fixedPointSection(bits int, scale string) string {
	return fmt.Sprintf("aggregation:\n  fixed_point:\n    enabled: true\n    bits: %d\n    clip: 1\n    scale: %s\n    max_weight: 1000\n", bits, scale)
}
