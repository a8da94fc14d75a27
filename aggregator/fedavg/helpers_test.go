package fedavg

import (
	"crypto/sha256"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/confed/confed/internal/model"
)

// testSpec has 7 parameters: bias [1] then weight [2 3] in flat order.
var testSpec = model.Spec{{Name: "bias", Shape: []int{1}}, {Name: "weight", Shape: []int{2, 3}}}

// encode returns the canonical encoding of the model with spec and flat values.
func encode(t testing.TB, spec model.Spec, flat []float32) []byte {
	t.Helper()
	m, err := model.FromFlat(spec, flat)
	if err != nil {
		t.Fatal(err)
	}
	return model.EncodeSafetensors(m)
}

func randFlat(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// ingestResult is the outcome of feeding a stream to an Ingestor.
type ingestResult struct {
	staged *Staged
	buf    []float32
	err    error // from NewIngestor, Write or Finish
}

// ingest feeds b to a new Ingestor in chunks of the given size (≤ 0: whole)
// declaring size and hash; nil hash means sha256(b).
func ingest(spec model.Spec, b []byte, size int64, hash []byte, limits Limits, chunk int) ingestResult {
	if hash == nil {
		sum := sha256.Sum256(b)
		hash = sum[:]
	}
	buf := make([]float32, spec.NumParams())
	in, err := NewIngestor(spec, buf, size, hash, limits)
	if err != nil {
		return ingestResult{buf: buf, err: err}
	}
	if chunk <= 0 {
		chunk = max(len(b), 1)
	}
	for len(b) > 0 {
		k := min(chunk, len(b))
		if err := in.Write(b[:k]); err != nil {
			return ingestResult{buf: buf, err: err}
		}
		b = b[k:]
	}
	st, err := in.Finish()
	return ingestResult{staged: st, buf: buf, err: err}
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
