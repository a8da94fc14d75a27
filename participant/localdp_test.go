package participant

import (
	"math"
	"testing"

	"github.com/confed/confed/internal/model"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// TestLocalDP: in local mode the update (statistics excluded) is clipped
// and noised with standard deviation z·C (5 standard errors); other modes
// and the statistics round leave it alone.
func TestLocalDP(t *testing.T) {
	const features, z, c = 20000, 1.5, 0.01
	fresh := func() *model.Model {
		m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: features, Init: "zeros"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range m.Tensors {
			for i := range tn.Data {
				tn.Data[i] = 1
			}
		}
		return m
	}
	local := &confedv1.PrivacyParams{Mode: "local", NoiseMultiplier: z, ClipNorm: c}
	for _, tc := range []struct {
		name  string
		p     *confedv1.PrivacyParams
		stats bool
	}{{"off", nil, false}, {"central", &confedv1.PrivacyParams{Mode: "central", NoiseMultiplier: z, ClipNorm: c}, false}, {"statistics round", local, true}} {
		m := fresh()
		if err := localDP(m, tc.p, tc.stats); err != nil {
			t.Fatal(err)
		}
		for _, v := range m.Flat() {
			if v != 1 {
				t.Fatalf("%s: update changed", tc.name)
			}
		}
	}
	m := fresh()
	if err := localDP(m, local, false); err != nil {
		t.Fatal(err)
	}
	n := features + 1 // weights and bias
	clipped := c / math.Sqrt(float64(n))
	var sq float64
	for _, tn := range m.Tensors {
		stats := tn.Name == model.TensorInputMean || tn.Name == model.TensorInputSqMean
		for _, v := range tn.Data {
			switch {
			case stats && v != 1:
				t.Fatalf("statistics coordinate of %s changed to %v", tn.Name, v)
			case !stats:
				d := float64(v) - clipped
				sq += d * d
			}
		}
	}
	if v := sq / float64(n) / (z * c * z * c); math.Abs(v-1) > 5*math.Sqrt(2/float64(n)) {
		t.Fatalf("noise variance / (zC)² = %v", v)
	}
	if err := localDP(fresh(), &confedv1.PrivacyParams{Mode: "local", NoiseMultiplier: 0, ClipNorm: c}, false); err == nil {
		t.Fatal("zero noise multiplier accepted")
	}
}
