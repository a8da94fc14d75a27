package e2e

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/heartdisease"
)

// TestFixedPointFederation trains with fixed-point aggregation (updates
// quantised to Z_{2^32}, summed exactly) and with float32 FedAvg on the same
// data: the published models are labelled as such and their accuracy
// agrees within the quantisation noise.
func TestFixedPointFederation(t *testing.T) {
	t.Parallel()
	fixed := strings.Replace(threeRounds, "tee:\n", "aggregation:\n  fixed_point:\n    enabled: true\n    bits: 32\n    clip: 1\n    scale: 65536\n    max_weight: 1000\ntee:\n", 1)
	results := map[string]float64{}
	for name, cfg := range map[string]string{"fixed": fixed, "float": threeRounds} {
		hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
		f := newFed(t, hs, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		f.startCoordinator(ctx, f.coordLis)
		f.startAggregator(ctx)
		f.startParticipants(ctx)
		f.waitParticipants(2 * time.Minute)
		final := f.download(t, f.operator(t))
		results[name] = pooledAccuracy(t, final, hs)
		strategy := final.Verified.Manifest.GetStrategy()
		if want := map[string]string{"fixed": "fedavg(fixed-point 32)", "float": "fedavg"}[name]; strategy != want {
			t.Errorf("%s: manifest strategy %q, want %q", name, strategy, want)
		}
		cancel()
		f.wg.Wait()
	}
	t.Logf("pooled accuracy: fixed point %.3f, float %.3f", results["fixed"], results["float"])
	if results["fixed"] < 0.7 || math.Abs(results["fixed"]-results["float"]) > 0.02 {
		t.Errorf("fixed-point accuracy %.3f vs float %.3f: want at least 0.7 and within 0.02", results["fixed"], results["float"])
	}
}
