package coordinator

import (
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/round"
	"github.com/confed/confed/internal/metrics/instrument"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// TestAdmissionCodes drives the round machine into each of its refusals
// and checks that the metrics map the machine's explanation onto the
// reason code, not onto "other": the codes follow the wording of
// coordinator/round, which this test pins.
func TestAdmissionCodes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := round.New(round.Params{Round: 1, Expected: []string{"a", "b"}, Min: 1,
		ReadyTimeout: time.Minute, CollectTimeout: time.Minute, AggregateTimeout: time.Minute}, now)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		do   func() string
		want string
	}{
		{"not collecting", func() string { return m.Admit("a", now).Reason }, "not_collecting"},
		{"not expected", func() string { return m.Admit("z", now).Reason }, "not_expected"},
		{"ready", func() string {
			if _, err := m.AggregatorReady(now); err != nil {
				t.Fatal(err)
			}
			return ""
		}, ""},
		{"in flight", func() string { m.Admit("a", now); return m.Admit("a", now).Reason }, "in_flight"},
		{"not in flight", func() string {
			d, _ := m.Complete("b", round.Result{Accepted: true, NumExamples: 1}, now)
			return d.Reason
		}, "not_in_flight"},
		{"duplicate", func() string {
			m.Complete("a", round.Result{Accepted: true, NumExamples: 1}, now)
			return m.Admit("a", now).Reason
		}, "duplicate"},
		{"late", func() string { return m.Admit("b", now.Add(2*time.Minute)).Reason }, "late"},
		{"no round", func() string { return errNoRound.Error() }, "no_round"},
	}
	for _, c := range cases {
		reason := c.do()
		if c.want == "" {
			continue
		}
		if got := admissionCode(reason); got != c.want {
			t.Errorf("%s: %q maps to %q, want %q", c.name, reason, got, c.want)
		}
	}
	if got := admissionCode("something new"); got != instrument.Other {
		t.Errorf("unknown reason maps to %q", got)
	}
}

// TestCompletedCounts checks the stages a reported update is counted in.
func TestCompletedCounts(t *testing.T) {
	m := newCoordMetrics([]string{"a"})
	m.completed(&confedv1.SubmissionResult{Participant: "a", Accepted: true}, true, "")
	m.completed(&confedv1.SubmissionResult{Participant: "intruder", Accepted: true}, true, "")
	m.completed(&confedv1.SubmissionResult{Participant: "a", Reason: "norm_exceeded: L2 norm 9 exceeds 1"}, false, "x")
	m.completed(&confedv1.SubmissionResult{Participant: "a", Reason: "free text \"\n"}, false, "x")
	m.completed(&confedv1.SubmissionResult{Participant: "a", Accepted: true}, false, "late: collection for round 1 closed at x")
	for _, c := range []struct {
		got  uint64
		want uint64
		what string
	}{
		{m.included.With("a").Value(), 1, "included a"},
		{m.included.With(instrument.Other).Value(), 1, "included other (not expected)"},
		{m.refused.With("validation", "norm_exceeded").Value(), 1, "validation norm_exceeded"},
		{m.refused.With("validation", instrument.Other).Value(), 1, "validation other"},
		{m.refused.With("inclusion", "late").Value(), 1, "inclusion late"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	var b strings.Builder
	if err := m.reg.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "intruder") || strings.Contains(b.String(), "free text") {
		t.Errorf("an unbounded value became a label:\n%s", b.String())
	}
}

// TestMetricsConfigKey checks the metrics section of the coordinator's
// configuration: absent is off, present needs a valid listen address, and
// errors name the file, line and key.
func TestMetricsConfigKey(t *testing.T) {
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"absent", "", ""},
		{"listen", "metrics:\n  listen: 127.0.0.1:9464\n", ""},
		{"any interface", "metrics:\n  listen: \":9464\"\n", ""},
		{"bad address", "metrics:\n  listen: localhost\n", "coordinator.yaml:9: metrics.listen: expected host:port"},
		{"bad port", "metrics:\n  listen: 127.0.0.1:99999\n", "metrics.listen: port must be a number from 0 to 65535"},
		{"empty section", "metrics: {}\n", "metrics.listen: missing"},
		{"unknown key", "metrics:\n  listen: 127.0.0.1:0\n  path: /m\n", "metrics.path"},
		{"not a mapping", "metrics: 127.0.0.1:9464\n", "metrics"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, _ := writeConfigTestFiles(t, configTestYAML+c.yaml)
			cfg, err := Load(path)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			case c.want == "" && c.yaml != "" && !cfg.Metrics.Enabled():
				t.Fatal("metrics not enabled")
			case c.yaml == "" && cfg.Metrics.Enabled():
				t.Fatal("metrics enabled without the section")
			}
		})
	}
}
