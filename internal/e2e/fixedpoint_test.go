package e2e

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/confed/confed/internal/heartdisease"
)

// TestFixedPointFederation trains with fixed-point aggregation (updates
// quantised to Z_{2^32} or Z_{2^64}, summed exactly) and with float32
// FedAvg on the same data: the published models are labelled as such and
// their accuracy agrees within the quantisation noise.
func TestFixedPointFederation(t *testing.T) {
	t.Parallel()
	ring := func(bits int, scale string) string {
		return roundYAML(roundOpts{rounds: 3, min: 3, sections: fixedPointSection(bits, scale)})
	}
	configs := map[string]string{"fixed32": ring(32, "65536"), "fixed64": ring(64, "1099511627776"), "float": threeRounds}
	wantStrategy := map[string]string{"fixed32": "fedavg(fixed-point 32)", "fixed64": "fedavg(fixed-point 64)", "float": "fedavg"}
	results := map[string]float64{}
	for name, cfg := range configs {
		hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
		f := newFed(t, hs, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		f.startCoordinator(ctx, f.coordLis)
		f.startAggregator(ctx)
		f.startParticipants(ctx)
		f.waitParticipants(2 * time.Minute)
		final := f.download(t, f.operator(t))
		results[name] = pooledAccuracy(t, final, hs)
		if strategy := final.Verified.Manifest.GetStrategy(); strategy != wantStrategy[name] {
			t.Errorf("%s: manifest strategy %q, want %q", name, strategy, wantStrategy[name])
		}
		cancel()
		f.wg.Wait()
	}
	t.Logf("pooled accuracy: fixed point 32 %.3f, 64 %.3f, float %.3f", results["fixed32"], results["fixed64"], results["float"])
	for _, name := range []string{"fixed32", "fixed64"} {
		if results[name] < 0.7 || math.Abs(results[name]-results["float"]) > 0.02 {
			t.Errorf("%s accuracy %.3f vs float %.3f: want at least 0.7 and within 0.02", name, results[name], results["float"])
		}
	}
}
