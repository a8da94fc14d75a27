package aggregator

import (
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/yamlcfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// sumLayout is what a round sums its updates in, which sets the sizes of
// its sum and staging buffers.
type sumLayout string

const (
	layoutFloat  sumLayout = "float"  // float32 updates, float64 sum
	layoutRing32 sumLayout = "ring32" // fixed point, 32-bit ring
	layoutRing64 sumLayout = "ring64" // fixed point, 64-bit ring
	layoutMasked sumLayout = "masked" // SecAgg+: the session's 32-bit ring
)

// layoutOf is the layout of a round of task t whose global model is
// global: a fixed-point round collecting feature statistics (round 1)
// sums in float.
func layoutOf(t *confedv1.AggregationTask, global *model.Model) sumLayout {
	switch fp := t.GetParams().GetFixedPoint(); {
	case maskedRound(t, global):
		return layoutMasked
	case fp != nil && !statisticsRound(global) && fp.GetBits() == 64:
		return layoutRing64
	case fp != nil && !statisticsRound(global):
		return layoutRing32
	}
	return layoutFloat
}

// bytes returns the bytes per parameter of the layout's sum and of one
// staged update.
func (l sumLayout) bytes() (sum, update int) {
	switch l {
	case layoutFloat:
		return 8, 4
	case layoutRing64:
		return 8, 8
	case layoutRing32, layoutMasked:
		return 4, 4
	}
	return 8, 8 // not a layout above: the largest, so that auto stages least
}

// Bytes per parameter of what a round holds while it collects updates.
const (
	modelBytes   = 4 // the float32 model, the unit of the memory budget
	stagingRatio = 3 // auto: sum + staging buffers within 3 models
	autoStaging  = 2 // auto: never more buffers than this
)

// stagingBuffers is how many staging buffers a round of layout l gets: the
// configured max_concurrent_updates, or under auto as many as keep the sum
// and the buffers within stagingRatio float32 models, between 1 and
// autoStaging. A float round (float64 sum, float32 updates) gets 1, a
// 32-bit ring 2, a 64-bit ring 1. With the model downloaded again at close
// while the sum is held, the aggregator then stays near three models and
// under four (docs/limits.md).
func stagingBuffers(configured yamlcfg.AutoInt, l sumLayout) int {
	if !configured.Auto() {
		return configured.Value()
	}
	sum, update := l.bytes()
	return min(autoStaging, max(1, (stagingRatio*modelBytes-sum)/update))
}
