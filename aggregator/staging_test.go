package aggregator

import (
	"testing"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/yamlcfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func TestStagingBuffers(t *testing.T) {
	tests := []struct {
		name       string
		configured yamlcfg.AutoInt
		layout     sumLayout
		want       int
	}{
		{"auto, float: float64 sum, float32 updates", yamlcfg.AutoInt{}, layoutFloat, 1},
		{"auto, 32-bit ring", yamlcfg.AutoInt{}, layoutRing32, 2},
		{"auto, secure aggregation (32-bit ring)", yamlcfg.AutoInt{}, layoutMasked, 2},
		{"auto, 64-bit ring", yamlcfg.AutoInt{}, layoutRing64, 1},
		{"auto, an unknown layout stages least", yamlcfg.AutoInt{}, sumLayout("other"), 1},
		{"configured wins, float", yamlcfg.FixedInt(4), layoutFloat, 4},
		{"configured wins, ring", yamlcfg.FixedInt(1), layoutRing32, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stagingBuffers(tt.configured, tt.layout); got != tt.want {
				t.Fatalf("stagingBuffers = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLayoutOf(t *testing.T) {
	fresh, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: 3, Init: model.InitZeros})
	if err != nil {
		t.Fatal(err)
	}
	trained := fresh.Clone() // pooled statistics set: a training round
	sq, _ := trained.Lookup(model.TensorInputSqMean)
	sq.Data[0] = 1
	fp := func(bits uint32) *confedv1.AggregationParams {
		return &confedv1.AggregationParams{FixedPoint: &confedv1.FixedPoint{Bits: bits}}
	}
	tests := []struct {
		name   string
		task   *confedv1.AggregationTask
		global *model.Model
		want   sumLayout
	}{
		{"float", &confedv1.AggregationTask{}, trained, layoutFloat},
		{"fixed point, statistics round", &confedv1.AggregationTask{Params: fp(32)}, fresh, layoutFloat},
		{"fixed point 32", &confedv1.AggregationTask{Params: fp(32)}, trained, layoutRing32},
		{"fixed point 64", &confedv1.AggregationTask{Params: fp(64)}, trained, layoutRing64},
		{"secure aggregation", &confedv1.AggregationTask{Params: fp(32), Secagg: &confedv1.SecAggParams{}}, trained, layoutMasked},
		{"secure aggregation, statistics round", &confedv1.AggregationTask{Params: fp(32), Secagg: &confedv1.SecAggParams{}}, fresh, layoutFloat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := layoutOf(tt.task, tt.global); got != tt.want {
				t.Fatalf("layoutOf = %q, want %q", got, tt.want)
			}
		})
	}
}
