package reliability

import (
	"math/rand/v2"
	"time"
)

// ShortPlan is the plan of the short suite that go test runs: tiny
// models, ~20 participants, each fault twice.
func ShortPlan(seed uint64) Plan {
	return Plan{Name: "short", Seed: seed, Repeats: 2, Deadline: 4 * time.Second,
		Load: []LoadSpec{{N: 20, Features: 1000, Procs: 2, Rounds: 2, Staging: 2}}}
}

// FullPlan is make reliability's plan: 10M-parameter models with 50 and
// 200 participants, each fault five times.
func FullPlan(seed uint64) Plan {
	const features = 3_333_333 // 3F+1 = 10M parameters
	return Plan{Name: "full", Seed: seed, Repeats: 5, Deadline: 8 * time.Second, CheckBound: true,
		Load: []LoadSpec{
			{N: 50, Features: features, Procs: 4, Rounds: 2, Staging: 2, CheckBound: true},
			{N: 200, Features: features, Procs: 4, Rounds: 2, Staging: 2, CheckBound: true},
		}}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }
