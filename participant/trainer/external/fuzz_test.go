package external_test

import (
	"errors"
	"math"
	"testing"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/participant/trainer/external"
)

// FuzzDecodeMetrics: never a panic; every error is an *external.Error
// about metrics.json; every accepted value is within the schema.
func FuzzDecodeMetrics(f *testing.F) {
	f.Add([]byte(`{"num_examples": 200, "loss": 0.45, "accuracy": 0.8}`))
	f.Add([]byte(`{"num_examples": 1, "loss": 0, "accuracy": 1, "extra": {"auc": 0.9, "a": -1}}`))
	f.Add([]byte(`{"num_examples": 1, "loss": 0, "accuracy": 1, "extra": {"a": {"b": []}}}`))
	f.Add([]byte(`{"loss": 1e999, "num_examples": "x", "num_examples": 3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := external.DecodeMetrics(b, 1000)
		if err != nil {
			var e *external.Error
			if !errors.As(err, &e) || e.Where != external.MetricsFile {
				t.Fatalf("error %v (%T) is not an *external.Error about metrics.json", err, err)
			}
			return
		}
		if m.NumExamples < 1 || m.NumExamples > 1000 || !(m.Loss >= 0) || math.IsInf(m.Loss, 0) || !(m.Accuracy >= 0 && m.Accuracy <= 1) {
			t.Fatalf("accepted out-of-schema metrics %+v", m)
		}
		if len(m.Extra) > external.MaxExtraMetrics {
			t.Fatalf("%d extra metrics", len(m.Extra))
		}
		for k, v := range m.Extra {
			if k == "" || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("extra %q = %v", k, v)
			}
		}
	})
}

// FuzzDecodeModel: never a panic; an accepted model has the global spec,
// finite values and the frozen tensors unchanged.
func FuzzDecodeModel(f *testing.F) {
	global := testGlobal(f)
	frozen := []string{model.TensorInputMean, model.TensorInputSqMean}
	enc := model.EncodeSafetensors(global)
	f.Add(enc)
	f.Add(enc[:len(enc)-3])
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{}              "))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := external.DecodeModel(b, global, frozen)
		if err != nil {
			var e *external.Error
			if !errors.As(err, &e) || e.Where != external.ModelFile {
				t.Fatalf("error %v (%T) is not an *external.Error about model.safetensors", err, err)
			}
			return
		}
		if err := m.Spec().Equal(global.Spec()); err != nil {
			t.Fatal(err)
		}
		for _, x := range m.Flat() {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatal("accepted a non-finite value")
			}
		}
		for _, name := range frozen {
			a, _ := m.Lookup(name)
			g, _ := global.Lookup(name)
			for i := range a.Data {
				if math.Float32bits(a.Data[i]) != math.Float32bits(g.Data[i]) {
					t.Fatalf("accepted a changed %s", name)
				}
			}
		}
	})
}
