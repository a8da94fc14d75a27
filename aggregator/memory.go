package aggregator

import (
	"os"
	"runtime/debug"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/yamlcfg"
)

// gcPercent is the aggregator's garbage-collection target (GOGC) unless
// the GOGC environment variable sets one. The aggregator's large buffers
// (global model, sum, staging buffers) are pointer-free, so a collection
// costs little however large they are, while Go's default of 100 lets the
// garbage of streamed chunks grow to the size of everything live, several
// models' worth: at 20 it stays within a fifth of that.
const gcPercent = 20

// windowOptions fixes the HTTP/2 flow-control windows to w (stream_window),
// or leaves gRPC's dynamic windows when w is 0. A fixed window turns off
// gRPC's bandwidth-delay estimation, whose windows grow to 16 MiB per
// connection: with many participants waiting for a staging buffer at once,
// each can have sent up to its window into the aggregator's memory.
func windowOptions(w yamlcfg.ByteSize) []grpc.ServerOption {
	if w == 0 {
		return nil
	}
	return []grpc.ServerOption{grpc.InitialWindowSize(int32(w)), grpc.InitialConnWindowSize(int32(w))}
}

// tuneGC applies gcPercent, unless the operator chose GOGC.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// releaseMemory hands the memory of a finished round back to the operating
// system, so that the next round starts from the memory the aggregator
// needs between rounds rather than from the last round's peak.
func releaseMemory() { debug.FreeOSMemory() }
