package strategy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Server optimiser names (Config.Name).
const (
	FedAvg     = "fedavg"
	FedAvgM    = "fedavgm"
	FedAdam    = "fedadam"
	FedYogi    = "fedyogi"
	FedAdagrad = "fedadagrad"
)

// OptimizerNames lists the server optimisers, in documentation order.
var OptimizerNames = []string{FedAvg, FedAvgM, FedAdam, FedYogi, FedAdagrad}

// Optimizer turns the round's aggregated pseudo-gradient Δ (the participants'
// mean delta, or a robust aggregate of the deltas) into the next global model.
//
// Its state (momentum, moments, step count) lives in the Optimizer value:
// in the aggregator's memory, across rounds, and lost when the process ends.
// State and Restore serialise it so that a later change can persist it; the
// bytes are not sealed or signed, which the caller must do before they leave
// the TEE. An Optimizer is safe for concurrent use, but steps are meant to
// be taken one round after another.
type Optimizer interface {
	// Step returns the new global model vector from the old one and the mean
	// delta. State persists across calls. Step does not keep references to
	// its arguments and does not modify them. It is atomic: if it fails
	// (mismatched lengths, non-finite input, a result or state value that
	// would not be finite), the state is as before the call.
	Step(global []float32, meanDelta []float64) ([]float32, error)
	// StepInPlace is Step writing the new model over global, with the
	// delta read from src block by block, so that neither a second model
	// nor a whole float64 delta need exist. It is atomic like Step: on
	// error, global and the state are as before the call.
	StepInPlace(global []float32, src DeltaSource) error
	// Name is the Config.Name the optimiser was built from.
	Name() string
	// Steps is the number of successful Steps since creation, the last
	// Reset, or as restored.
	Steps() uint64
	// Reset returns the state to that of a new optimiser (zero momentum,
	// initial moments, no steps).
	Reset()
	// State serialises the state (see Restore).
	State() []byte
	// Restore replaces the state with one that State returned from an
	// optimiser of the same name and size. Hyper-parameters and frozen
	// ranges come from the receiver's Config, not from the bytes. On error
	// the state is unchanged.
	Restore([]byte) error
}

// Config selects and parameterises a server optimiser. Zero is a
// meaningful value for several fields (momentum 0, beta1 0), so Config does
// not fill in defaults: start from Defaults(name) and override. Keys that the
// chosen optimiser does not use must be zero, so that a misplaced setting is
// refused rather than silently ignored.
//
// The update rules, with Δ the aggregated delta (local − global, so Δ points
// downhill) and all arithmetic in float64 per coordinate:
//
//	fedavg      x ← x + Δ                                    (no parameters)
//	fedavgm     u ← μ·u + Δ;  x ← x + η·u                    (Hsu et al. 2019; u₋₁ = 0)
//	fedadagrad  m ← β₁·m + (1−β₁)·Δ;  v ← v + Δ²             (Reddi et al. 2021, Alg. 2)
//	fedyogi     m as above;  v ← v − (1−β₂)·Δ²·sign(v − Δ²)
//	fedadam     m as above;  v ← β₂·v + (1−β₂)·Δ²
//	            then x ← x + η·m / (√v + τ)                  (m₋₁ = 0, v₋₁ = τ²)
//
// v₋₁ = τ² is the smallest initial value Algorithm 2 of Reddi et al. allows
// (v₋₁ ≥ τ²); Flower starts from v = 0. With BiasCorrection (fedadam only)
// η is replaced by η·√(1−β₂ᵗ)/(1−β₁ᵗ) at step t = 1, 2, … (Kingma & Ba's
// α_t, which Flower's newer FedAdam applies); the paper does not use it.
type Config struct {
	Name string // fedavg | fedavgm | fedadam | fedyogi | fedadagrad
	// ServerLR is η (server_lr), > 0. Not used by fedavg.
	ServerLR float64
	// Momentum is FedAvgM's μ (server_momentum), 0 ≤ μ < 1. fedavgm only.
	Momentum float64
	// Beta1 is the first-moment decay β₁ (beta1), 0 ≤ β₁ < 1. Adaptive
	// optimisers only.
	Beta1 float64
	// Beta2 is the second-moment decay β₂ (beta2), 0 ≤ β₂ < 1. fedadam and
	// fedyogi only.
	Beta2 float64
	// Tau is the adaptivity τ (tau), > 0. Adaptive optimisers only.
	Tau float64
	// BiasCorrection applies Adam's bias correction (bias_correction).
	// fedadam only.
	BiasCorrection bool
	// Frozen lists coordinates that are not optimised: for them Step returns
	// exactly float32(global + Δ), as FedAvg does, and no state is kept.
	// The model's feature statistics (input_mean, input_sq_mean; see
	// TensorRanges) must be frozen, because their example-weighted mean is
	// the pooled moment only if it is applied unchanged.
	Frozen []Range
}

// Defaults returns the default Config of the named optimiser:
//
//	fedavg      no parameters
//	fedavgm     server_lr 1, server_momentum 0.9
//	fedadam     server_lr 0.1,  beta1 0.9, beta2 0.99, tau 1e-3
//	fedyogi     server_lr 0.01, beta1 0.9, beta2 0.99, tau 1e-3
//	fedadagrad  server_lr 0.1,  beta1 0,              tau 1e-3
//
// The adaptive defaults are those of Flower's current strategies
// (flwr.serverapp.strategy: FedAdam η=0.1, FedYogi η=0.01, FedAdagrad
// η=0.1 with β₁ forced to 0, β₂=0.99, τ=1e-3); Flower's older
// flwr.server.strategy classes used τ=1e-9, which makes the first step
// ≈ η·sign(Δ) even for coordinates whose Δ is rounding noise. FedAvgM uses
// Hsu et al.'s μ=0.9 with their un-scaled step (η=1): its steady-state step
// is η/(1−μ) = 10 times FedAvg's, so lower the participants' learning rate
// or server_lr accordingly. (Flower's FedAvgM defaults, η=1 and μ=0, are
// plain FedAvg.)
func Defaults(name string) (Config, error) {
	switch name {
	case FedAvg:
		return Config{Name: FedAvg}, nil
	case FedAvgM:
		return Config{Name: FedAvgM, ServerLR: 1, Momentum: 0.9}, nil
	case FedAdam:
		return Config{Name: FedAdam, ServerLR: 0.1, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}, nil
	case FedYogi:
		return Config{Name: FedYogi, ServerLR: 0.01, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}, nil
	case FedAdagrad:
		return Config{Name: FedAdagrad, ServerLR: 0.1, Tau: 1e-3}, nil
	}
	return Config{}, unknownOptimizer(name)
}

func unknownOptimizer(name string) error {
	return fmt.Errorf("server_optimizer: must be one of %s, got %q", strings.Join(OptimizerNames, ", "), name)
}

// Validate reports the first key that the optimiser does not accept, named
// as in the round configuration (server_optimizer, server_lr,
// server_momentum, beta1, beta2, tau, bias_correction, frozen). Frozen
// ranges are checked against the model size by NewOptimizer.
func (c Config) Validate() error {
	uses := map[string]bool{}
	switch c.Name {
	case FedAvg:
	case FedAvgM:
		uses["server_lr"], uses["server_momentum"] = true, true
	case FedAdam:
		uses["server_lr"], uses["beta1"], uses["beta2"], uses["tau"], uses["bias_correction"] = true, true, true, true, true
	case FedYogi:
		uses["server_lr"], uses["beta1"], uses["beta2"], uses["tau"] = true, true, true, true
	case FedAdagrad:
		uses["server_lr"], uses["beta1"], uses["tau"] = true, true, true
	default:
		return unknownOptimizer(c.Name)
	}
	type param struct {
		key      string
		v        float64
		lo, hi   float64 // allowed: lo ≤ v < hi, or lo < v < hi when open
		openLow  bool
		wantText string
	}
	params := []param{
		{"server_lr", c.ServerLR, 0, math.Inf(1), true, "> 0"},
		{"server_momentum", c.Momentum, 0, 1, false, "in [0, 1)"},
		{"beta1", c.Beta1, 0, 1, false, "in [0, 1)"},
		{"beta2", c.Beta2, 0, 1, false, "in [0, 1)"},
		{"tau", c.Tau, 0, math.Inf(1), true, "> 0"},
	}
	for _, p := range params {
		if !uses[p.key] {
			if p.v != 0 {
				return fmt.Errorf("%s: %v is set, but %s does not use %s", p.key, p.v, c.Name, p.key)
			}
			continue
		}
		ok := p.v < p.hi && (p.v > p.lo || (!p.openLow && p.v == p.lo))
		if !ok || math.IsNaN(p.v) {
			return fmt.Errorf("%s: %s needs %s %s, got %v", p.key, c.Name, p.key, p.wantText, p.v)
		}
	}
	if c.BiasCorrection && !uses["bias_correction"] {
		return fmt.Errorf("bias_correction: is set, but %s does not use bias_correction", c.Name)
	}
	for i, r := range c.Frozen {
		if r.Lo < 0 || r.Hi < r.Lo {
			return fmt.Errorf("frozen[%d]: [%d, %d) is not a range", i, r.Lo, r.Hi)
		}
	}
	return nil
}

// NewOptimizer validates c and returns its optimiser for models of n
// parameters. fedavgm keeps one float64 vector of n values (8n bytes), the
// adaptive optimisers two (16n bytes), fedavg none.
func NewOptimizer(c Config, n int) (Optimizer, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("strategy: %w", err)
	}
	if n < 0 {
		return nil, fmt.Errorf("strategy: %s: %d parameters", c.Name, n)
	}
	frozen, err := normalizeRanges("frozen", c.Frozen, n)
	if err != nil {
		return nil, fmt.Errorf("strategy: %s: %w", c.Name, err)
	}
	o := &serverOpt{cfg: c, n: n, frozen: frozen}
	o.cfg.Frozen = nil
	switch c.Name {
	case FedAvgM:
		o.m = make([]float64, n)
	case FedAdam, FedYogi, FedAdagrad:
		o.m = make([]float64, n)
		o.v = make([]float64, n)
	}
	o.resetLocked()
	return o, nil
}

// serverOpt implements all five optimisers: m is FedAvgM's velocity or the
// adaptive first moment, v the adaptive second moment (nil when unused).
type serverOpt struct {
	cfg    Config
	n      int
	frozen []Range // sorted, merged

	mu sync.Mutex
	t  uint64
	m  []float64
	v  []float64
}

func (o *serverOpt) Name() string { return o.cfg.Name }

func (o *serverOpt) Steps() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.t
}

func (o *serverOpt) Reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.resetLocked()
}

func (o *serverOpt) resetLocked() {
	o.t = 0
	clear(o.m)
	v0 := o.cfg.Tau * o.cfg.Tau
	for i := range o.v {
		o.v[i] = v0
	}
}

// errNotFinite is wrapped by Step's errors about overflow.
var errNotFinite = errors.New("not finite")

func (o *serverOpt) Step(global []float32, delta []float64) ([]float32, error) {
	out := slices.Clone(global)
	if err := o.StepInPlace(out, SliceDelta(delta)); err != nil {
		return nil, err
	}
	return out, nil
}

// stepBlock is how many coordinates StepInPlace reads from its DeltaSource
// at a time: 128 KiB of float64, which stays in cache between the passes.
const stepBlock = 1 << 14

func (o *serverOpt) StepInPlace(global []float32, src DeltaSource) error {
	if len(global) != o.n || src.Len() != o.n {
		return fmt.Errorf("strategy: %s: step: %d global values and %d delta values, want %d of each", o.cfg.Name, len(global), src.Len(), o.n)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	eta := o.eta()
	buf := make([]float64, min(stepBlock, o.n))
	// Pass 1 computes every result and checks it without writing anything;
	// pass 2 writes the model and commits the state (the same float64
	// arithmetic on the same delta, so the same values). Two passes keep
	// the step atomic without a copy of the model or of the state.
	for _, commit := range []bool{false, true} {
		for lo := 0; lo < o.n; lo += stepBlock {
			hi := min(lo+stepBlock, o.n)
			d, err := blockOf(src, lo, hi, buf)
			if err != nil {
				return fmt.Errorf("strategy: %s: step: delta of [%d, %d): %w", o.cfg.Name, lo, hi, err)
			}
			// FedAvg's plain step finds non-finite inputs itself: any makes
			// its result non-finite.
			if !commit && o.cfg.Name != FedAvg {
				if err := checkFinite(o.cfg.Name, global[lo:hi], d, lo); err != nil {
					return err
				}
			}
			if err := o.pass(global, d, lo, hi, eta, commit); err != nil {
				return err
			}
		}
	}
	o.t++
	return nil
}

// eta is the step size of the next step (bias-corrected for fedadam).
func (o *serverOpt) eta() float64 {
	c := o.cfg
	eta := c.ServerLR
	if c.BiasCorrection {
		t := float64(o.t + 1)
		eta *= math.Sqrt(1-math.Pow(c.Beta2, t)) / (1 - math.Pow(c.Beta1, t))
	}
	return eta
}

// checkFinite refuses a non-finite delta or global value; index lo is the
// first coordinate of the block.
func checkFinite(name string, global []float32, delta []float64, lo int) error {
	for i, d := range delta {
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return fmt.Errorf("strategy: %s: step: delta[%d] is %w", name, lo+i, errNotFinite)
		}
		if g := float64(global[i]); math.IsNaN(g) || math.IsInf(g, 0) {
			return fmt.Errorf("strategy: %s: step: global[%d] is %w", name, lo+i, errNotFinite)
		}
	}
	return nil
}

// pass runs the update over the block [lo, hi), whose delta is d (d[0] is
// coordinate lo). With commit false it only checks that every result is
// finite; with commit true it writes the new values over global and stores
// the new state.
func (o *serverOpt) pass(global []float32, d []float64, lo, hi int, eta float64, commit bool) error {
	var err error
	segments(o.frozen, lo, hi, func(a, b int, frozen bool) {
		if err != nil {
			return
		}
		if frozen || o.cfg.Name == FedAvg {
			err = o.plain(global, d[a-lo:b-lo], a, commit)
			return
		}
		err = o.optimise(global, d[a-lo:b-lo], a, eta, commit)
	})
	return err
}

// plain computes float32(global + Δ) for the coordinates from lo on,
// exactly as fedavg.Apply.
func (o *serverOpt) plain(global []float32, d []float64, lo int, commit bool) error {
	g := global[lo : lo+len(d)]
	i := addPlain(g, d, commit)
	if i < 0 {
		return nil
	}
	// The reason, in checkFinite's words when an input is not finite.
	if err := checkFinite(o.cfg.Name, g[i:i+1], d[i:i+1], lo+i); err != nil {
		return err
	}
	return fmt.Errorf("strategy: %s: step: parameter %d would be %w in float32", o.cfg.Name, lo+i, errNotFinite)
}

// addPlain computes float32(float64(g[i]) + d[i]) for every i. With commit
// it writes the results over g (the caller checked them first); without, it
// only checks them and returns the index of the first that is not finite
// (a non-finite g[i] or d[i] gives one too), or -1.
func addPlain(g []float32, d []float64, commit bool) int {
	g = g[:len(d)]
	if commit {
		for i, di := range d {
			g[i] = float32(float64(g[i]) + di)
		}
		return -1
	}
	const expMask = 0x7f800000 // all exponent bits set: ±Inf or NaN
	for i, di := range d {
		if math.Float32bits(float32(float64(g[i])+di))&expMask == expMask {
			return i
		}
	}
	return -1
}

func (o *serverOpt) optimise(global []float32, delta []float64, lo int, eta float64, commit bool) error {
	c := o.cfg
	for k, d := range delta {
		i := lo + k
		var step, m, v float64
		switch c.Name {
		case FedAvgM:
			m = c.Momentum*o.m[i] + d
			step = eta * m
		default:
			m = c.Beta1*o.m[i] + (1-c.Beta1)*d
			d2 := d * d
			switch c.Name {
			case FedAdagrad:
				v = o.v[i] + d2
			case FedYogi:
				v = o.v[i] - (1-c.Beta2)*d2*sign(o.v[i]-d2)
			case FedAdam:
				v = c.Beta2*o.v[i] + (1-c.Beta2)*d2
			}
			step = eta * m / (math.Sqrt(v) + c.Tau)
		}
		x := float32(float64(global[i]) + step)
		if commit {
			o.m[i] = m
			if o.v != nil {
				o.v[i] = v
			}
			global[i] = x
			continue
		}
		if !finite(m) || !finite(v) || !finite(step) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("strategy: %s: step: parameter %d or its state would be %w", c.Name, i, errNotFinite)
		}
	}
	return nil
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
