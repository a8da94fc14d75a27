package external_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/participant/trainer/external"
)

func TestDecodeMetrics(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // error substring; "" for valid
	}{
		{"minimal", `{"num_examples": 100, "loss": 0.45, "accuracy": 0.8}`, ""},
		{"with extra", `{"accuracy": 1, "loss": 0, "num_examples": 1, "extra": {"auc": 0.9, "epochs": 2, "grad_norm_2": -1e-3}}`, ""},
		{"empty extra", `{"num_examples": 5, "loss": 1e-400, "accuracy": 0.5, "extra": {}}`, ""},
		{"not JSON", `num_examples=5`, "not valid JSON"},
		{"NaN", `{"num_examples": 5, "loss": NaN, "accuracy": 0.5}`, "NaN and Infinity are not JSON"},
		{"array", `[1, 2]`, "must be a JSON object, got an array"},
		{"trailing", `{"num_examples": 5, "loss": 1, "accuracy": 0.5} {}`, "not valid JSON"},
		{"unknown key", `{"num_examples": 5, "loss": 1, "accuracy": 0.5, "auc": 0.7}`, `unknown key "auc"`},
		{"duplicate key", `{"num_examples": 5, "loss": 1, "loss": 2, "accuracy": 0.5}`, `duplicate key "loss"`},
		{"missing loss", `{"num_examples": 5, "accuracy": 0.5}`, "loss is missing"},
		{"missing num_examples", `{"loss": 1, "accuracy": 0.5}`, "num_examples is missing"},
		{"zero examples", `{"num_examples": 0, "loss": 1, "accuracy": 0.5}`, "num_examples must be an integer from 1 to 100"},
		{"too many examples", `{"num_examples": 101, "loss": 1, "accuracy": 0.5}`, "from 1 to 100"},
		{"fractional examples", `{"num_examples": 5.5, "loss": 1, "accuracy": 0.5}`, `got "5.5"`},
		{"exponent examples", `{"num_examples": 5e1, "loss": 1, "accuracy": 0.5}`, "must be an integer"},
		{"negative examples", `{"num_examples": -5, "loss": 1, "accuracy": 0.5}`, "must be an integer"},
		{"string examples", `{"num_examples": "5", "loss": 1, "accuracy": 0.5}`, "num_examples must be a number, got a string"},
		{"null loss", `{"num_examples": 5, "loss": null, "accuracy": 0.5}`, "loss must be a number, got null"},
		{"negative loss", `{"num_examples": 5, "loss": -0.1, "accuracy": 0.5}`, "loss must be from 0"},
		{"huge loss", `{"num_examples": 5, "loss": 1e999, "accuracy": 0.5}`, "loss must be a finite number"},
		{"accuracy over 1", `{"num_examples": 5, "loss": 1, "accuracy": 1.5}`, "accuracy must be from 0 to 1"},
		{"bool accuracy", `{"num_examples": 5, "loss": 1, "accuracy": true}`, "got a boolean"},
		{"extra not object", `{"num_examples": 5, "loss": 1, "accuracy": 0.5, "extra": [1]}`, "extra must be a JSON object"},
		{"extra bad name", `{"num_examples": 5, "loss": 1, "accuracy": 0.5, "extra": {"Bad Name": 1}}`, `extra metric name "Bad Name"`},
		{"extra string", `{"num_examples": 5, "loss": 1, "accuracy": 0.5, "extra": {"note": "hi"}}`, "extra.note must be a number, got a string"},
		{"extra nested", `{"num_examples": 5, "loss": 1, "accuracy": 0.5, "extra": {"x": {}}}`, "extra.x must be a number, got an object"},
		{"extra duplicate", `{"num_examples": 5, "loss": 1, "accuracy": 0.5, "extra": {"a": 1, "a": 2}}`, `duplicate key "a" in extra`},
		{"extra too many", `{"num_examples": 5, "loss": 1, "accuracy": 0.5, "extra": {` + manyExtra(33) + `}}`, "at most 32 metrics"},
		{"extra huge", `{"num_examples": 5, "loss": 1, "accuracy": 0.5, "extra": {"x": -1e999}}`, "extra.x must be a finite number"},
		{"invalid UTF-8", "{\"num_examples\": 5, \"loss\": 1, \"accuracy\": 0.5, \"extra\": {\"\xff\": 1}}", "not valid UTF-8"},
		{"too big", `{"num_examples": 5, "loss": 1, "accuracy": 0.5}` + strings.Repeat(" ", external.MaxMetricsBytes), "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := external.DecodeMetrics([]byte(tt.in), 100)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.NumExamples < 1 || math.IsNaN(m.Loss) {
					t.Errorf("metrics %+v", m)
				}
				return
			}
			var e *external.Error
			if !errors.As(err, &e) || e.Where != external.MetricsFile || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want an *external.Error about %s containing %q", err, external.MetricsFile, tt.want)
			}
		})
	}
}

func manyExtra(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"m` + strings.Repeat("x", i) + `": 1`
	}
	return strings.Join(parts, ", ")
}

func TestDecodeMetricsValues(t *testing.T) {
	m, err := external.DecodeMetrics([]byte(`{"num_examples": 200, "loss": 0.25, "accuracy": 0.8, "extra": {"auc": 0.9}}`), 200)
	if err != nil {
		t.Fatal(err)
	}
	if m.NumExamples != 200 || m.Loss != 0.25 || m.Accuracy != 0.8 || len(m.Extra) != 1 || m.Extra["auc"] != 0.9 {
		t.Errorf("DecodeMetrics = %+v", m)
	}
}

func TestDecodeModel(t *testing.T) {
	global := testGlobal(t)
	frozen := []string{model.TensorInputMean, model.TensorInputSqMean}
	edit := func(f func(m *model.Model)) []byte {
		m := global.Clone()
		f(m)
		return model.EncodeSafetensors(m)
	}
	withTensors := func(ts ...model.Tensor) []byte {
		m, err := model.New(ts...)
		if err != nil {
			t.Fatal(err)
		}
		return model.EncodeSafetensors(m)
	}
	g := func(name string) model.Tensor { x, _ := global.Clone().Lookup(name); return *x }
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"unchanged", model.EncodeSafetensors(global), ""},
		{"weights moved", edit(func(m *model.Model) { w, _ := m.Lookup("weight"); w.Data[3] += 1 }), ""},
		{"empty", nil, "truncated"},
		{"garbage", []byte("not a safetensors file at all"), "safetensors"},
		{"NaN weight", edit(func(m *model.Model) { w, _ := m.Lookup("weight"); w.Data[2] = float32(math.NaN()) }), `tensor "weight" element 2 is NaN`},
		{"Inf bias", edit(func(m *model.Model) { b, _ := m.Lookup("bias"); b.Data[0] = float32(math.Inf(-1)) }), `tensor "bias" element 0 is -Inf`},
		{"frozen changed", edit(func(m *model.Model) { s, _ := m.Lookup(model.TensorInputSqMean); s.Data[12] *= 2 }), `tensor "input_sq_mean" element 12 was changed`},
		{"missing tensor", withTensors(g("bias"), g("input_mean"), g("input_sq_mean")), `tensor "weight" is missing`},
		{"extra tensor", withTensors(g("bias"), g("input_mean"), g("input_sq_mean"), g("weight"), model.Tensor{Name: "z", Shape: []int{1}, Data: []float32{0}}), `unexpected tensor "z"`},
		{"renamed", withTensors(model.Tensor{Name: "Bias", Shape: []int{1}, Data: []float32{0}}, g("input_mean"), g("input_sq_mean"), g("weight")), `unexpected tensor "Bias"`},
		{"wrong shape", withTensors(g("bias"), g("input_mean"), g("input_sq_mean"), model.Tensor{Name: "weight", Shape: []int{13, 1}, Data: make([]float32, 13)}), `tensor "weight" has shape [13 1], want [13]`},
		{"scalar bias", withTensors(model.Tensor{Name: "bias", Data: []float32{0}}, g("input_mean"), g("input_sq_mean"), g("weight")), `tensor "bias" has shape [], want [1]`},
		{"too big", append(model.EncodeSafetensors(global), make([]byte, 70<<10)...), "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := external.DecodeModel(tt.in, global, frozen)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *external.Error
			if !errors.As(err, &e) || e.Where != external.ModelFile || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want an *external.Error about %s containing %q", err, external.ModelFile, tt.want)
			}
		})
	}
}
