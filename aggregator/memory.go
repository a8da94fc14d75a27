package aggregator

import (
	"os"
	"runtime/debug"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/yamlcfg"
)

// gcPercent is the aggregator's garbage-collection target (GOGC) unless
// the GOGC environment variable sets one. Its large buffers are
// pointer-free, so a collection costs little however large they are, while
// Go's default of 100 would let the garbage of streamed chunks grow to the
// size of everything live on the heap: at 20 it stays within a fifth of
// that.
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

// closeGCPercent is the garbage-collection target while a round opens or
// closes. The global model, downloaded then, is the one large object on
// the Go heap (sums and staging buffers are mapped outside it,
// internal/offheap), and its download and publication produce a model's
// worth of chunk garbage: at gcPercent that garbage could reach a fifth of
// the model before a collection, at 5 a twentieth. Collections stay cheap:
// the model is one pointer-free object.
const closeGCPercent = 5

// tightGC lowers the garbage-collection target to closeGCPercent, unless
// the operator chose GOGC, and returns the function that restores it.
func tightGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(closeGCPercent)
	return func() { debug.SetGCPercent(old) }
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
