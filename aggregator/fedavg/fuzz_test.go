package fedavg

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	"github.com/confed/confed/internal/model"
)

// fuzzSeeds are valid updates of testSpec: the Ingestor must accept them.
func fuzzSeeds(t testing.TB) [][]byte {
	rng := rand.New(rand.NewPCG(2, 3))
	seeds := [][]byte{encode(t, testSpec, make([]float32, 7))}
	for range 4 {
		seeds = append(seeds, encode(t, testSpec, randFlat(rng, 7)))
	}
	return seeds
}

func TestFuzzSeedsAccepted(t *testing.T) {
	for i, b := range fuzzSeeds(t) {
		for _, chunk := range []int{1, 3, 0} {
			if r := ingest(testSpec, b, int64(len(b)), nil, Limits{MaxNorm: 1e3}, chunk); r.err != nil {
				t.Fatalf("seed %d, chunk %d: %v", i, chunk, r.err)
			}
		}
	}
}

// FuzzIngestor feeds arbitrary bytes, declared with their true hash and the
// canonical size, in arbitrary chunks. It must never panic; every failure
// must be a refusal with a reason, the same however the bytes are chunked;
// and anything accepted must decode to the same values with
// model.DecodeSafetensors.
func FuzzIngestor(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint8(1))
		f.Add(s, uint8(6))
	}
	size := model.SafetensorsSize(testSpec)
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		sum := sha256.Sum256(b)
		limits := Limits{MaxNorm: 1e3}
		whole := ingest(testSpec, b, size, sum[:], limits, 0)
		chunked := ingest(testSpec, b, size, sum[:], limits, int(chunk))
		if (whole.err == nil) != (chunked.err == nil) || ReasonOf(whole.err) != ReasonOf(chunked.err) {
			t.Fatalf("whole: %v; chunked by %d: %v", whole.err, chunk, chunked.err)
		}
		if whole.err != nil {
			if ReasonOf(whole.err) == "" {
				t.Fatalf("untrusted bytes caused a non-refusal error: %v", whole.err)
			}
			return
		}
		m, err := model.DecodeSafetensors(b, model.Limits{})
		if err != nil {
			t.Fatalf("accepted bytes that DecodeSafetensors rejects: %v", err)
		}
		if !sameBits(m.Flat(), whole.staged.Values) || !sameBits(whole.staged.Values, chunked.staged.Values) {
			t.Fatal("accepted values differ from DecodeSafetensors or across chunkings")
		}
	})
}
