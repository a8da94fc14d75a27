package aggregator

import (
	"testing"

	"github.com/confed/confed/internal/yamlcfg"
)

func TestStagingBuffers(t *testing.T) {
	tests := []struct {
		name                  string
		configured            yamlcfg.AutoInt
		sumBytes, updateBytes int
		want                  int
	}{
		{"auto, float: float64 sum, float32 updates", yamlcfg.AutoInt{}, 8, 4, 1},
		{"auto, 32-bit ring", yamlcfg.AutoInt{}, 4, 4, 2},
		{"auto, 64-bit ring", yamlcfg.AutoInt{}, 8, 8, 1},
		{"auto never goes below 1", yamlcfg.AutoInt{}, 16, 8, 1},
		{"auto never goes above 2", yamlcfg.AutoInt{}, 0, 1, 2},
		{"configured wins, float", yamlcfg.FixedInt(4), 8, 4, 4},
		{"configured wins, ring", yamlcfg.FixedInt(1), 4, 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stagingBuffers(tt.configured, tt.sumBytes, tt.updateBytes); got != tt.want {
				t.Fatalf("stagingBuffers = %d, want %d", got, tt.want)
			}
		})
	}
}
