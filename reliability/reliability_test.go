package reliability

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	MaybeRunChild()
	os.Exit(m.Run())
}

func TestLoadShort(t *testing.T) {
	l, err := RunLoad(LoadSpec{N: 20, Features: 1000, Procs: 2, Rounds: 2, Staging: 2})
	t.Logf("%+v", l)
	if err != nil {
		t.Fatal(err)
	}
}

func shortCtx() *faultCtx {
	p := ShortPlan(1)
	return &faultCtx{plan: p, rng: newRand(p.Seed)}
}

func TestFaultsShort(t *testing.T) {
	for _, fn := range []func(*faultCtx) Row{faultParticipantKilled, faultTooFewRemain, faultAggregatorKilled, faultCoordinatorKilled} {
		c := shortCtx()
		row := fn(c)
		t.Logf("%+v", row)
		if !row.OK() {
			t.Errorf("%s: %s", row.Name, row.Err)
		}
	}
}

func TestNetworkAndSkewShort(t *testing.T) {
	c := shortCtx()
	for _, row := range append(networkFaults(c), clockSkew(c)...) {
		t.Logf("%+v", row)
		if !row.OK() {
			t.Errorf("%s: %s", row.Name, row.Err)
		}
	}
}
