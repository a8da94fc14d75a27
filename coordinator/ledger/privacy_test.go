package ledger_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/confed/confed/coordinator/ledger"
)

// TestPrivacyRecords: records with privacy chain and verify; records
// without it keep their canonical bytes (no "privacy" key); malformed
// privacy is refused by Next and by Parse.
func TestPrivacyRecords(t *testing.T) {
	ok := &ledger.Privacy{Mode: "central", EpsilonRound: 0.8, EpsilonTotal: 2.5, Delta: 1e-5, NoiseMultiplier: 1.1, ClipNorm: 0.5, EpsilonBudget: 8}
	recs := validRecords()
	plain := build(t, recs...)
	for _, e := range plain {
		if bytes.Contains(e.Canonical, []byte(`"privacy"`)) {
			t.Fatalf("record %d without DP has a privacy key: %s", e.Index, e.Canonical)
		}
	}
	recs[2].Privacy = &ledger.Privacy{Mode: "local", EpsilonTotal: 1.7, Delta: 1e-5, NoiseMultiplier: 1, ClipNorm: 1, EpsilonBudget: 8}
	recs[3].Privacy = ok
	entries := build(t, recs...)
	if _, err := ledger.Verify(entries, ledger.VerifyOptions{}); err != nil {
		t.Fatalf("chain with privacy does not verify: %v", err)
	}
	if got := parse(t, entries[3]).Privacy; got == nil || *got != *ok {
		t.Fatalf("privacy after a round trip: %+v, want %+v", got, ok)
	}
	bad := []struct {
		name string
		p    ledger.Privacy
	}{
		{"unknown mode", ledger.Privacy{Mode: "off", Delta: 1e-5, NoiseMultiplier: 1, EpsilonBudget: 1}},
		{"delta 0", ledger.Privacy{Mode: "central", NoiseMultiplier: 1, EpsilonBudget: 1}},
		{"round above total", ledger.Privacy{Mode: "central", EpsilonRound: 2, EpsilonTotal: 1, Delta: 1e-5, NoiseMultiplier: 1, EpsilonBudget: 3}},
		{"negative epsilon", ledger.Privacy{Mode: "central", EpsilonRound: -1, Delta: 1e-5, NoiseMultiplier: 1, EpsilonBudget: 3}},
		{"no noise", ledger.Privacy{Mode: "central", Delta: 1e-5, EpsilonBudget: 3}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := validRecords()[2]
			r.Privacy = &tc.p
			if _, err := ledger.Next(&plain[1], r); err == nil {
				t.Error("Next accepted it")
			}
			if _, err := ledger.Parse(raw(t, r).Canonical); err == nil {
				t.Error("Parse accepted it")
			}
		})
	}
	g := genesisRecord()
	g.Privacy = ok
	if _, err := ledger.Next(nil, g); err == nil {
		t.Error("a genesis record with privacy was accepted")
	}
}

// TestVerifyPrivacyBudget: Verify refuses a chain whose ε total shrinks
// from one record to the next, or a record over its budget.
func TestVerifyPrivacyBudget(t *testing.T) {
	p := func(total, budget float64) *ledger.Privacy {
		return &ledger.Privacy{Mode: "central", EpsilonRound: total / 2, EpsilonTotal: total, Delta: 1e-5, NoiseMultiplier: 1, ClipNorm: 1, EpsilonBudget: budget}
	}
	for _, tc := range []struct {
		name         string
		first, later *ledger.Privacy
		want         string
	}{
		{"growing", p(1, 8), p(2, 8), ""},
		{"equal", p(2, 8), p(2, 8), ""},
		{"shrinking", p(3, 8), p(2, 8), "cannot shrink"},
		{"over the budget", p(1, 8), p(9, 8), "exceeds the budget"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := validRecords()
			recs[2].Privacy, recs[3].Privacy = tc.first, tc.later
			_, err := ledger.Verify(build(t, recs...), ledger.VerifyOptions{})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
