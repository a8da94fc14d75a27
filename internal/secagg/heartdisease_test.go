package secagg

import (
	"math"
	"testing"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/participant/trainer"
)

// TestHeartDiseaseFederation runs the demo federation in process (four
// hospitals, pooled standardisation, the trainer's defaults) twice: with
// plain float FedAvg, and with every round's deltas summed by a SecAgg+
// session; in every third round one hospital drops out after sharing keys
// (and is left out of the plain run's mean too). The federated model's pooled test accuracy must be within 0.01.
// This exercises the protocol on real updates; it does not run the
// daemons (secure aggregation is not wired into the federation yet).
func TestHeartDiseaseFederation(t *testing.T) {
	if testing.Short() {
		t.Skip("trains ten rounds twice")
	}
	var trains, tests []heartdisease.Dataset
	for _, h := range heartdisease.Hospitals {
		ds, _, err := heartdisease.Load(h.Path("../../data/heart-disease"))
		if err != nil {
			t.Fatal(err)
		}
		train, test, err := heartdisease.Split(ds, 0.34, 42)
		if err != nil {
			t.Fatal(err)
		}
		trains, tests = append(trains, train), append(tests, test)
	}
	st := heartdisease.FitStandardizer(heartdisease.Concat(trains...))
	for i := range trains {
		trains[i], tests[i] = st.Apply(trains[i]), st.Apply(tests[i])
	}
	pooledTest := heartdisease.Concat(tests...)
	d := heartdisease.NumFeatures + 1

	// The session's roster and ring, reused each round with a fresh session id.
	sess := newSession(t, len(trains), 0, 3, d)
	sess.cfg.Params = fixedpoint.Params{Bits: 32, Clip: 4, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: len(trains)}

	// In every third round one hospital drops out after sharing its keys,
	// in both runs.
	dropped := func(round int) (uint32, bool) { return uint32(round % 4), round%3 == 0 }
	plain := func(global trainer.Weights, deltas [][]float32, weights []uint64, round int) ([]float64, error) {
		mean := make([]float64, d)
		total := 0.0
		for k, dk := range deltas {
			if j, ok := dropped(round); ok && j == uint32(k) {
				continue
			}
			for j, v := range dk {
				mean[j] += float64(weights[k]) * float64(v)
			}
			total += float64(weights[k])
		}
		for j := range mean {
			mean[j] /= total
		}
		return mean, nil
	}
	secure := func(global trainer.Weights, deltas [][]float32, weights []uint64, round int) ([]float64, error) {
		cfg := sess.cfg
		id, err := SessionID("heart-disease", uint64(round), []byte("seed"), cfg)
		if err != nil {
			return nil, err
		}
		cfg.Session = id
		sm := newSim(t, &session{cfg: cfg, signers: sess.signers}, uint64(round))
		sm.updates, sm.weights = deltas, weights
		var dropAt map[uint32]Stage
		if j, ok := dropped(round); ok {
			dropAt = drops(StageMaskedInput, j)
		}
		res, err := sm.run(t, dropAt)
		if err != nil {
			return nil, err
		}
		return res.Mean(cfg.Params)
	}
	accuracy := func(aggregate func(trainer.Weights, [][]float32, []uint64, int) ([]float64, error)) float64 {
		global := trainer.Zero(heartdisease.NumFeatures)
		for r := range trainer.DefaultRounds {
			var deltas [][]float32
			var weights []uint64
			for k, tr := range trains {
				p := trainer.DefaultParams()
				p.Seed = uint64(r*len(trains) + k)
				local, stats, err := trainer.Train(global, tr, p)
				if err != nil {
					t.Fatal(err)
				}
				delta := make([]float32, d)
				for j := range local.W {
					delta[j] = float32(local.W[j] - global.W[j])
				}
				delta[d-1] = float32(local.B - global.B)
				deltas, weights = append(deltas, delta), append(weights, uint64(stats.NumExamples))
			}
			mean, err := aggregate(global, deltas, weights, r)
			if err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
			for j := range global.W {
				global.W[j] += mean[j]
			}
			global.B += mean[d-1]
		}
		m, err := trainer.Evaluate(global, pooledTest)
		if err != nil {
			t.Fatal(err)
		}
		return m.Accuracy
	}
	off, on := accuracy(plain), accuracy(secure)
	t.Logf("pooled test accuracy: secure aggregation off %.3f, secagg+ %.3f", off, on)
	if math.Abs(off-on) > 0.01 {
		t.Errorf("accuracy with secagg+ %.3f, without %.3f: differ by more than 0.01", on, off)
	}
	if off < 0.7 {
		t.Errorf("baseline accuracy %.3f: the simulation is broken", off)
	}
}
