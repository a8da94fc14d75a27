package aggregator

import "github.com/confed/confed/internal/yamlcfg"

// Bytes per parameter of what a round holds while it collects updates.
const (
	modelBytes   = 4 // the float32 model, the unit of the memory budget
	stagingRatio = 3 // auto: sum + staging buffers within 3 models
	autoStaging  = 2 // auto: never more buffers than this
)

// stagingBuffers is how many staging buffers a round gets: the configured
// max_concurrent_updates, or under auto as many as keep the sum (sumBytes
// per parameter) and the buffers (updateBytes per parameter each) within
// stagingRatio float32 models, between 1 and autoStaging. A float round
// (float64 sum, float32 updates) gets 1, a 32-bit ring 2, a 64-bit ring 1.
// With the model downloaded again at close while the sum is held, the
// aggregator then stays near three models and under four (docs/limits.md).
func stagingBuffers(configured yamlcfg.AutoInt, sumBytes, updateBytes int) int {
	if !configured.Auto() {
		return configured.Value()
	}
	return min(autoStaging, max(1, (stagingRatio*modelBytes-sumBytes)/updateBytes))
}
