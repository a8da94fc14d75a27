package reliability

import (
	"os"
	"testing"
)

// The short suite runs as ordinary tests: go test ./reliability/. The full
// plan (10M-parameter models, 50 and 200 participants, every fault five
// times) runs with CONFED_RELIABILITY=full and without -short, or through
// make reliability (cmd/reltable). CONFED_RELIABILITY_SEED fixes the seed.

func TestMain(m *testing.M) {
	MaybeRunChild()
	os.Exit(m.Run())
}

func shortCtx(t *testing.T) *faultCtx {
	p := ShortPlan(SeedFromEnv())
	t.Logf("seed %d (CONFED_RELIABILITY_SEED=%d reproduces the fault points)", p.Seed, p.Seed)
	return &faultCtx{plan: p, rng: newRand(p.Seed)}
}

func checkRows(t *testing.T, rows []Row) {
	t.Helper()
	for _, row := range rows {
		t.Logf("%-8s %-64s %d/%d %s", row.Section, row.Name, row.Held, row.Tried, row.Detail)
		if !row.OK() {
			t.Errorf("%s: did not hold: %s", row.Name, row.Err)
		}
	}
}

func TestLoadShort(t *testing.T) {
	t.Parallel()
	rep := &Report{}
	checkRows(t, loadRows(ShortPlan(1), rep))
	for _, l := range rep.Load {
		t.Logf("N=%d: aggregator peak %d KiB per round %v, %.1f submissions/s", l.N, l.PeakKiB, l.RoundPeaksKiB, l.SubmissionsPerSec)
	}
}

func TestProcessFaultsShort(t *testing.T) {
	t.Parallel()
	c := shortCtx(t)
	var rows []Row
	for _, fn := range []func(*faultCtx) Row{faultParticipantKilled, faultTooFewRemain, faultAggregatorKilled, faultCoordinatorKilled} {
		rows = append(rows, fn(c))
	}
	checkRows(t, rows)
	if c.verified == 0 || c.verifyFailed > 0 {
		t.Errorf("%d coordinator files verified, %d did not", c.verified, c.verifyFailed)
	}
}

func TestNetworkFaultsShort(t *testing.T) {
	t.Parallel()
	checkRows(t, networkFaults(shortCtx(t)))
}

func TestClockSkewShort(t *testing.T) {
	t.Parallel()
	checkRows(t, clockSkew(shortCtx(t)))
}

func TestHostileInputShort(t *testing.T) {
	t.Parallel()
	checkRows(t, hostileInput(shortCtx(t)))
}

func TestModelPoisoningShort(t *testing.T) {
	t.Parallel()
	checkRows(t, modelPoisoning(shortCtx(t)))
}

// TestFull runs the full plan; it needs CONFED_RELIABILITY=full and no
// -short, and takes many minutes.
func TestFull(t *testing.T) {
	if testing.Short() || os.Getenv("CONFED_RELIABILITY") != "full" {
		t.Skip("the full reliability plan runs with CONFED_RELIABILITY=full (make reliability)")
	}
	rep := Run(FullPlan(SeedFromEnv()), os.Stderr)
	rep.Print(os.Stderr)
	checkRows(t, rep.Rows)
	if !rep.Verified {
		t.Error("not every coordinator file verified")
	}
}
