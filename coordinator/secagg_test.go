package coordinator

import (
	"bytes"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/roundconfig"
)

func secAggEngine(t *testing.T, mode string) *engine {
	t.Helper()
	sa := "secure_aggregation:\n  mode: off\n"
	if mode == roundconfig.SecAggPlus {
		sa = "secure_aggregation:\n  mode: secagg+\n  threshold: 3\n  stage_timeout: 4s\n"
	}
	rc, err := roundconfig.Parse("fed.yaml", []byte(`federation: demo
participants:
  expected: [d, c, b, a]
  min: 3
aggregation:
  fixed_point:
    enabled: true
`+sa))
	if err != nil {
		t.Fatal(err)
	}
	return newEngine(slog.New(slog.DiscardHandler), time.Now, rc, nil, nil, "agg:1")
}

// TestSecAggSession checks the session the coordinator picks for a round:
// the roster is the connected expected participants in the configured
// order with the certificates they connected with, the seed is fresh, and
// TRAIN tasks add the end of the session.
func TestSecAggSession(t *testing.T) {
	e := secAggEngine(t, roundconfig.SecAggPlus)
	for _, name := range []string{"a", "c", "d"} { // b is not connected
		e.attachParticipant(name, []byte("cert of "+name))
	}
	e.attachParticipant("stranger", []byte("cert of stranger"))
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.secAggOpen(1)
	if p == nil {
		t.Fatal("no session with secure aggregation on")
	}
	var roster []string
	for _, c := range p.GetRosterCertificates() {
		roster = append(roster, string(c))
	}
	if want := []string{"cert of d", "cert of c", "cert of a"}; !slices.Equal(roster, want) {
		t.Errorf("roster %q, want %q", roster, want)
	}
	if p.GetThreshold() != 3 || p.GetNeighbourDegree() != 0 || p.GetStageTimeout().AsDuration() != 4*time.Second || len(p.GetRoundSeed()) != 32 {
		t.Errorf("session %v", p)
	}
	if p2 := e.secAggOpen(2); bytes.Equal(p2.GetRoundSeed(), p.GetRoundSeed()) {
		t.Error("two rounds drew the same seed")
	}
	deadline := time.Now()
	tp := e.secAggTrain(deadline)
	if got, want := tp.GetSessionDeadline().AsTime(), deadline.Add(time.Duration(e.rc.Timing.AggregationTimeout)); !got.Equal(want) {
		t.Errorf("session deadline %s, want %s", got, want)
	}
	if e.secagg.round.GetSessionDeadline() != nil {
		t.Error("the TRAIN task's deadline leaked into the aggregator's session")
	}
}

func TestSecAggOff(t *testing.T) {
	e := secAggEngine(t, roundconfig.SecAggOff)
	e.attachParticipant("a", []byte("cert"))
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.secAggOpen(1); p != nil || e.secAggTrain(time.Now()) != nil {
		t.Errorf("a session with secure aggregation off: %v", p)
	}
}
