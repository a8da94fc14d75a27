package aggregator

import (
	"context"
	"fmt"
	"slices"

	"github.com/confed/confed/aggregator/strategy"
	"github.com/confed/confed/internal/logging"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// closeSecAgg closes a masked round (done false for any other round): it
// waits until every included masked input has been added, runs the
// consistency and unmask stages, and sends the unmasked mean through the
// usual close path (server optimiser, signed manifest, publish). Per
// participant weights are masked, so each contribution lists 0 examples.
// A session that fails (fewer than t left, a bad reconstruction) fails
// the round with reason secagg_<reason>.
func (s *Server) closeSecAgg(ctx context.Context, t *confedv1.AggregationTask, rs *roundState) (done bool, err error) {
	sa := rs.secagg
	if sa == nil {
		return false, nil
	}
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
	include := t.GetInclude()
	if err := s.checkMinUpdates(len(include)); err != nil {
		return true, err
	}
	contribs, err := rs.foldedContributions(ctx, include)
	if err != nil {
		return true, err
	}
	res, err := sa.finish()
	if err != nil {
		return true, fmt.Errorf("%s", secAggReason(err))
	}
	survivors := make([]string, 0, len(res.Survivors))
	for _, id := range res.Survivors {
		survivors = append(survivors, sa.cfg.Peers[id].Name)
	}
	if !slices.Equal(slices.Sorted(slices.Values(survivors)), slices.Sorted(slices.Values(include))) {
		return true, fmt.Errorf("secure aggregation summed the inputs of %v, the coordinator included %v", survivors, include)
	}
	delta, err := newSecAggDelta(res, sa.cfg.Params)
	if err != nil {
		return true, err
	}
	sa.pool.Release()
	s.log.Info("secure aggregation unmasked the sum", logging.KeyRound, t.GetRound(), "survivors", survivors,
		"total_weight", res.TotalWeight)
	return true, s.finishRound(ctx, rs, func() (strategy.DeltaSource, error) { return delta, nil }, contribs)
}
