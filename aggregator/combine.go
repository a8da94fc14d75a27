package aggregator

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/confed/confed/aggregator/strategy"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/model"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// statistics are the model's coordinates that hold pooled feature
// statistics: they are averaged exactly, never clipped, trimmed or
// optimised (see participant/scaler.go).
func statistics(spec model.Spec) ([]strategy.Range, error) {
	var names []string
	for _, t := range spec {
		if t.Name == model.TensorInputMean || t.Name == model.TensorInputSqMean {
			names = append(names, t.Name)
		}
	}
	return strategy.TensorRanges(spec, names...)
}

// robustConfig is the round's robust rule, or nil for fedavg.
func robustConfig(p *confedv1.AggregationParams, exact []strategy.Range) *strategy.RobustConfig {
	if p.GetStrategy() == "" || p.GetStrategy() == "fedavg" {
		return nil
	}
	return &strategy.RobustConfig{Name: p.GetStrategy(), TrimFraction: p.GetTrimFraction(),
		Byzantine: int(p.GetByzantine()), MultiKrumM: int(p.GetMultikrumM()), Exact: exact}
}

// optimizerConfig is the round's server optimiser.
func optimizerConfig(p *confedv1.AggregationParams, frozen []strategy.Range) strategy.Config {
	o := p.GetServerOptimizer()
	name := o.GetName()
	if name == "" {
		name = "fedavg"
	}
	return strategy.Config{Name: name, ServerLR: o.GetServerLr(), Momentum: o.GetServerMomentum(),
		Beta1: o.GetBeta1(), Beta2: o.GetBeta2(), Tau: o.GetTau(), BiasCorrection: o.GetBiasCorrection(), Frozen: frozen}
}

// ringSum is what the close path needs of a fixed-point sum (32- or
// 64-bit ring).
type ringSum interface {
	Count() int
	Len() int
	MeanFloat64At(lo int, dst []float64) error
}

// ringDelta is the mean of a fixed-point sum, dequantised block by block
// as the optimiser asks for it: no float64 copy of the whole delta exists.
type ringDelta struct{ sum ringSum }

func (r ringDelta) Len() int                          { return r.sum.Len() }
func (r ringDelta) Delta(lo int, dst []float64) error { return r.sum.MeanFloat64At(lo, dst) }

// ringOfRound is the round's fixed-point sum, nil in a float round.
func ringOfRound(rs *roundState) ringSum {
	switch {
	case rs.ring != nil:
		return rs.ring
	case rs.ring64 != nil:
		return rs.ring64
	}
	return nil
}

// combine turns the round's folded updates into the delta to apply: the
// example-weighted mean, or the robust rule over the spilled updates.
func (s *Server) combine(rs *roundState) (strategy.DeltaSource, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	// Combining spends the sum (the mean is taken in place): a round is
	// combined once.
	if rs.combined {
		return nil, fmt.Errorf("round %d was already aggregated", rs.task.GetRound())
	}
	rs.combined = true
	if ring := ringOfRound(rs); ring != nil {
		if ring.Count() == 0 {
			return nil, errors.New("no fixed-point update was folded")
		}
		return rs.withDP(ringDelta{ring})
	}
	if rs.robust == nil {
		mean, err := rs.acc.TakeMean() // the round ends here: reuse the sum
		if err != nil {
			return nil, err
		}
		return rs.withDP(strategy.SliceDelta(mean))
	}
	n := rs.spill.Len()
	if err := rs.robust.Validate(n); err != nil {
		return nil, fmt.Errorf("%s over %d updates: %w", rs.robust.Name, n, err)
	}
	if m := rs.robust.MinAveraged(n); m < s.cfg.MinUpdates {
		return nil, fmt.Errorf("refusing %s over %d updates: each coordinate would come from %d update(s), fewer than min_updates (%d)",
			rs.robust.Name, n, m, s.cfg.MinUpdates)
	}
	delta := make([]float64, rs.spec.NumParams())
	rep, err := strategy.Aggregate(rs.spill, *rs.robust, delta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rs.robust.Name, err)
	}
	if len(rep.Selected) > 0 {
		names := make([]string, 0, len(rep.Selected))
		for _, i := range rep.Selected {
			names = append(names, rs.spilled[i])
		}
		s.log.Info("robust aggregation selected updates", logging.KeyRound, rs.task.GetRound(), "rule", rs.robust.Name, "selected", names)
	}
	return strategy.SliceDelta(delta), nil
}

// nextModel applies the server optimiser to the combined delta, in place:
// global, the round's global model, becomes the next model (a failed step
// leaves it untouched). The optimiser's state carries over rounds only
// while each round starts from the model the optimiser produced last;
// otherwise it starts afresh.
func (s *Server) nextModel(rs *roundState, global *model.Model, delta strategy.DeltaSource) (*model.Model, error) {
	cfg := optimizerConfig(rs.task.GetParams(), rs.frozen)
	if s.opt == nil || !sameOptimizer(s.optCfg, cfg) {
		opt, err := strategy.NewOptimizer(cfg, rs.spec.NumParams())
		if err != nil {
			return nil, fmt.Errorf("server optimiser: %w", err)
		}
		s.opt, s.optCfg = opt, cfg
	} else if s.opt.Steps() > 0 && !bytes.Equal(s.optBase[:], rs.globalSHA[:]) {
		s.opt.Reset()
	}
	flat, err := flatView(global)
	if err != nil {
		return nil, err
	}
	if err := s.opt.StepInPlace(flat, delta); err != nil {
		return nil, fmt.Errorf("server optimiser %s: %w", cfg.Name, err)
	}
	return global, nil
}

// flatView returns the vector that backs all of m's tensors in order (as
// modelio decodes a model of a known spec), or a copy where they are not
// one vector, then made to back m.
func flatView(m *model.Model) ([]float32, error) {
	if flat, ok := m.Backing(); ok {
		return flat, nil
	}
	flat := m.Flat()
	v, err := model.ViewFlat(m.Spec(), flat)
	if err != nil {
		return nil, err
	}
	*m = *v
	return flat, nil
}

func sameOptimizer(a, b strategy.Config) bool {
	return a.Name == b.Name && a.ServerLR == b.ServerLR && a.Momentum == b.Momentum && a.Beta1 == b.Beta1 &&
		a.Beta2 == b.Beta2 && a.Tau == b.Tau && a.BiasCorrection == b.BiasCorrection && len(a.Frozen) == len(b.Frozen)
}
