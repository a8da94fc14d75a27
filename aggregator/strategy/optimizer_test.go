package strategy

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/internal/model"
)

// close32 reports whether a and b agree to float32 rounding of values that
// went through slightly different float64 operation orders.
func close32(a, b float32) bool {
	return math.Abs(float64(a)-float64(b)) <= 1e-6*math.Max(1, math.Abs(float64(b)))
}

func mustDefaults(t testing.TB, name string) Config {
	t.Helper()
	c, err := Defaults(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// optimizerConfigs are the configurations tested against the reference:
// every optimiser's defaults plus variants, all with frozen ranges
// (overlapping and adjacent on purpose, to exercise merging).
func optimizerConfigs(t testing.TB) map[string]Config {
	frozen := []Range{{3, 7}, {5, 9}, {9, 10}, {20, 21}, {45, 50}}
	cs := map[string]Config{}
	for _, name := range OptimizerNames {
		c := mustDefaults(t, name)
		c.Frozen = frozen
		cs[name] = c
	}
	add := func(label string, f func(*Config)) {
		base := strings.SplitN(label, "/", 2)[0]
		c := mustDefaults(t, base)
		c.Frozen = frozen
		f(&c)
		cs[label] = c
	}
	add("fedavgm/lr0.5-mu0", func(c *Config) { c.ServerLR, c.Momentum = 0.5, 0 })
	add("fedadam/bias-corrected", func(c *Config) { c.BiasCorrection = true })
	add("fedadam/tau1e-9", func(c *Config) { c.Tau = 1e-9 })
	add("fedyogi/beta2-0.5", func(c *Config) { c.Beta2 = 0.5 })
	add("fedadagrad/beta1-0.9", func(c *Config) { c.Beta1 = 0.9 })
	return cs
}

// TestOptimizersMatchReference runs every optimiser for several steps,
// carrying its state, against the naive reference, on random data.
func TestOptimizersMatchReference(t *testing.T) {
	const n, steps = 50, 8
	for label, c := range optimizerConfigs(t) {
		t.Run(label, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(label))))
			opt, err := NewOptimizer(c, n)
			if err != nil {
				t.Fatal(err)
			}
			ref := newRefOpt(c, n)
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			xr := slices.Clone(x)
			for s := range steps {
				d := make([]float64, n)
				scale := math.Pow(10, float64(rng.IntN(4))-3) // 1e-3 … 1
				for i := range d {
					d[i] = rng.NormFloat64() * scale
				}
				if s == 3 {
					d[11] = 0 // Yogi's sign(v − Δ²) and Adagrad with Δ = 0
				}
				got, err := opt.Step(x, d)
				if err != nil {
					t.Fatalf("step %d: %v", s, err)
				}
				want := ref.step(xr, d)
				for i := range got {
					if !close32(got[i], want[i]) {
						t.Fatalf("step %d: x[%d] = %v, reference %v", s, i, got[i], want[i])
					}
				}
				x, xr = got, want
			}
			if opt.Steps() != steps {
				t.Errorf("Steps() = %d, want %d", opt.Steps(), steps)
			}
		})
	}
}

// TestFedAvgOptimizerIsApply checks that fedavg is bit-for-bit the existing
// fedavg.Apply on the accumulator's mean.
func TestFedAvgOptimizerIsApply(t *testing.T) {
	spec := model.Spec{{Name: "bias", Shape: []int{1}}, {Name: "weight", Shape: []int{4, 5}}}
	rng := rand.New(rand.NewPCG(2, 2))
	global, err := model.FromFlat(spec, randUpdates(rng, 1, 21, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	acc := fedavg.NewAccumulator(spec)
	for i, u := range randUpdates(rng, 5, 21, 0.1) {
		if err := acc.Add(u, float64(10+7*i)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := fedavg.Apply(global, acc)
	if err != nil {
		t.Fatal(err)
	}
	mean, err := acc.Mean()
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewOptimizer(Config{Name: FedAvg}, 21)
	if err != nil {
		t.Fatal(err)
	}
	got, err := opt.Step(global.Flat(), mean)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want.Flat()) {
		t.Fatalf("fedavg optimizer %v\nfedavg.Apply       %v", got, want.Flat())
	}
}

// TestFrozenCoordinatesAreExact checks that frozen coordinates come out as
// exactly float32(global + Δ) for every optimiser, step after step, and
// that the feature-statistics tensors can be found by name.
func TestFrozenCoordinatesAreExact(t *testing.T) {
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: 13, Init: model.InitNormal, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := TensorRanges(m.Spec(), model.TensorInputMean, model.TensorInputSqMean)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Range{{1, 14}, {14, 27}}; !slices.Equal(frozen, want) {
		t.Fatalf("TensorRanges = %v, want %v", frozen, want)
	}
	n := m.NumParams()
	for _, name := range OptimizerNames {
		c := mustDefaults(t, name)
		c.Frozen = frozen
		opt, err := NewOptimizer(c, n)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 3))
		x := m.Flat()
		for s := range 5 {
			d := make([]float64, n)
			for i := range d {
				d[i] = rng.NormFloat64()
			}
			got, err := opt.Step(x, d)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				in := i >= 1 && i < 27
				plain := float32(float64(x[i]) + d[i])
				if in && got[i] != plain {
					t.Fatalf("%s step %d: frozen x[%d] = %v, want exactly %v", name, s, i, got[i], plain)
				}
				if !in && name != FedAvg && s > 0 && got[i] == plain { // fedavgm's first step is x + Δ
					t.Fatalf("%s step %d: x[%d] was not optimised", name, s, i)
				}
			}
			x = got
		}
	}
	if _, err := TensorRanges(m.Spec(), "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("TensorRanges of a missing tensor: %v", err)
	}
}

// TestStateRoundTrip checks that State/Restore carry the state exactly: an
// optimiser restored mid-run continues exactly as the original.
func TestStateRoundTrip(t *testing.T) {
	const n = 50
	for label, c := range optimizerConfigs(t) {
		t.Run(label, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(4, 4))
			a, err := NewOptimizer(c, n)
			if err != nil {
				t.Fatal(err)
			}
			x := randUpdates(rng, 1, n, 1)[0]
			deltas := make([][]float64, 6)
			for s := range deltas {
				deltas[s] = make([]float64, n)
				for i := range deltas[s] {
					deltas[s][i] = rng.NormFloat64() * 0.1
				}
			}
			for _, d := range deltas[:3] {
				var err error
				if x, err = a.Step(x, d); err != nil {
					t.Fatal(err)
				}
			}
			st := a.State()
			b, _ := NewOptimizer(c, n)
			if err := b.Restore(st); err != nil {
				t.Fatal(err)
			}
			if b.Steps() != 3 || !bytes.Equal(b.State(), st) {
				t.Fatalf("restored state differs (steps %d)", b.Steps())
			}
			xb := slices.Clone(x)
			for _, d := range deltas[3:] {
				var err error
				if x, err = a.Step(x, d); err != nil {
					t.Fatal(err)
				}
				if xb, err = b.Step(xb, d); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(x, xb) {
				t.Fatal("restored optimiser diverged from the original")
			}
			// Reset gives a fresh optimiser's state.
			fresh, _ := NewOptimizer(c, n)
			a.Reset()
			if !bytes.Equal(a.State(), fresh.State()) {
				t.Fatal("Reset state differs from a new optimiser's")
			}
		})
	}
}

func TestRestoreRefuses(t *testing.T) {
	adam, _ := NewOptimizer(mustDefaults(t, FedAdam), 10)
	if _, err := adam.Step(make([]float32, 10), []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}); err != nil {
		t.Fatal(err)
	}
	good := adam.State()
	yogi, _ := NewOptimizer(mustDefaults(t, FedYogi), 10)
	adam11, _ := NewOptimizer(mustDefaults(t, FedAdam), 11)
	flip := slices.Clone(good)
	flip[len(flip)/2] ^= 1
	cases := []struct {
		name string
		opt  Optimizer
		b    []byte
		want string
	}{
		{"other optimiser", yogi, good, `state is of "fedadam"`},
		{"other size", adam11, good, "for 10 parameters"},
		{"corrupted", adam, flip, "checksum"},
		{"truncated", adam, good[:len(good)-9], "checksum"},
		{"empty", adam, nil, "not an optimiser state"},
		{"garbage", adam, []byte("confed-optstate/1\nxxxx"), ""},
	}
	for _, tc := range cases {
		before := tc.opt.State()
		err := tc.opt.Restore(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Restore error %v, want it to mention %q", tc.name, err, tc.want)
		}
		if !bytes.Equal(before, tc.opt.State()) {
			t.Errorf("%s: a refused Restore changed the state", tc.name)
		}
	}
}

// TestStepIsAtomic checks that a Step that fails leaves the state as it
// was, and that Step neither keeps nor modifies its arguments.
func TestStepIsAtomic(t *testing.T) {
	for _, name := range OptimizerNames {
		c := mustDefaults(t, name)
		if name != FedAvg {
			c.ServerLR = 1e37 // steps of about 1e37: finite, but not on top of MaxFloat32
		}
		opt, _ := NewOptimizer(c, 4)
		x, err := opt.Step([]float32{1, 2, 3, 4}, []float64{0.5, -0.5, 0.25, 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		before, steps := opt.State(), opt.Steps()
		// The last coordinate overflows float32 after the others were
		// computed: nothing may have been committed.
		x[3] = math.MaxFloat32
		if _, err := opt.Step(x, []float64{0.1, 0.1, 0.1, 1e38}); err == nil || !strings.Contains(err.Error(), "not finite") {
			t.Fatalf("%s: overflowing step: %v", name, err)
		}
		if !bytes.Equal(before, opt.State()) || opt.Steps() != steps {
			t.Fatalf("%s: failed Step changed the state", name)
		}
		if _, err := opt.Step(x[:3], []float64{0, 0, 0, 0}); err == nil {
			t.Fatalf("%s: mismatched lengths accepted", name)
		}
		if _, err := opt.Step(x, []float64{math.NaN(), 0, 0, 0}); err == nil {
			t.Fatalf("%s: NaN delta accepted", name)
		}
		if _, err := opt.Step(x, []float64{math.Inf(-1), 0, 0, 0}); err == nil {
			t.Fatalf("%s: infinite delta accepted", name)
		}
	}
	// Arguments: neither modified nor retained.
	opt, _ := NewOptimizer(mustDefaults(t, FedAdam), 3)
	x, d := []float32{1, 2, 3}, []float64{0.1, 0.2, 0.3}
	x0, d0 := slices.Clone(x), slices.Clone(d)
	out, _ := opt.Step(x, d)
	if !slices.Equal(x, x0) || !slices.Equal(d, d0) {
		t.Fatal("Step modified its arguments")
	}
	st := opt.State()
	x[0], d[0], out[0] = 99, 99, 99
	if !bytes.Equal(st, opt.State()) {
		t.Fatal("Step kept a reference to an argument or its result")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, name := range OptimizerNames {
		if err := mustDefaults(t, name).Validate(); err != nil {
			t.Errorf("defaults of %s: %v", name, err)
		}
	}
	if _, err := Defaults("sgd"); err == nil {
		t.Error("Defaults of an unknown name")
	}
	mod := func(name string, f func(*Config)) Config {
		c := mustDefaults(t, name)
		f(&c)
		return c
	}
	cases := []struct {
		c    Config
		want string
	}{
		{Config{Name: "fedprox"}, "server_optimizer: must be one of"},
		{Config{}, "server_optimizer"},
		{mod(FedAvg, func(c *Config) { c.ServerLR = 1 }), "server_lr: 1 is set, but fedavg does not use server_lr"},
		{mod(FedAvgM, func(c *Config) { c.ServerLR = 0 }), "server_lr: fedavgm needs server_lr > 0"},
		{mod(FedAvgM, func(c *Config) { c.Momentum = 1 }), "server_momentum"},
		{mod(FedAvgM, func(c *Config) { c.Beta1 = 0.9 }), "beta1: 0.9 is set, but fedavgm does not use beta1"},
		{mod(FedAdam, func(c *Config) { c.Beta2 = 1 }), "beta2: fedadam needs beta2 in [0, 1)"},
		{mod(FedAdam, func(c *Config) { c.Beta1 = -0.1 }), "beta1"},
		{mod(FedAdam, func(c *Config) { c.Tau = 0 }), "tau: fedadam needs tau > 0"},
		{mod(FedAdam, func(c *Config) { c.ServerLR = math.NaN() }), "server_lr"},
		{mod(FedAdam, func(c *Config) { c.ServerLR = math.Inf(1) }), "server_lr"},
		{mod(FedAdam, func(c *Config) { c.Momentum = 0.9 }), "server_momentum: 0.9 is set, but fedadam"},
		{mod(FedYogi, func(c *Config) { c.BiasCorrection = true }), "bias_correction"},
		{mod(FedAdagrad, func(c *Config) { c.Beta2 = 0.99 }), "beta2: 0.99 is set, but fedadagrad"},
		{mod(FedAdagrad, func(c *Config) { c.Frozen = []Range{{3, 2}} }), "frozen[0]"},
	}
	for _, tc := range cases {
		err := tc.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: Validate() = %v, want it to contain %q", tc.c, err, tc.want)
		}
		if _, err := NewOptimizer(tc.c, 10); err == nil {
			t.Errorf("%+v: NewOptimizer accepted it", tc.c)
		}
	}
	if _, err := NewOptimizer(mod(FedAdam, func(c *Config) { c.Frozen = []Range{{5, 11}} }), 10); err == nil || !strings.Contains(err.Error(), "frozen[0]") {
		t.Errorf("frozen range beyond the model: %v", err)
	}
}
