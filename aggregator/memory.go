package aggregator

import (
	"os"
	"runtime/debug"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/yamlcfg"
)

// windowOptions fixes the HTTP/2 flow-control windows to w (stream_window),
// or leaves gRPC's dynamic windows when w is 0. A fixed window turns off
// gRPC's bandwidth-delay estimation, whose windows grow to 16 MiB per
// connection. Participants waiting for a staging buffer send nothing
// (submit.StagingReady), so only the streams being staged, and clients
// that ignore the protocol, can fill their windows.
func windowOptions(w yamlcfg.ByteSize) []grpc.ServerOption {
	if w == 0 {
		return nil
	}
	return []grpc.ServerOption{grpc.InitialWindowSize(int32(w)), grpc.InitialConnWindowSize(int32(w))}
}

// closeGCPercent is the garbage-collection target while a round opens or
// closes. The aggregator's sums and staging buffers are mapped outside the
// Go heap (internal/offheap), so while updates stream the heap holds only
// small objects and Go's default target (GOGC=100) lets their garbage grow
// to their own size, a few MiB. When a round opens or closes, the global
// model is downloaded onto the heap, and its download and publication
// produce a model's worth of chunk garbage: at GOGC=100 that garbage could
// reach the model's size before a collection, at 5 a twentieth of it.
// Collections stay cheap: the model is one pointer-free object.
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

// releaseMemory hands the Go heap's free memory back to the operating
// system after a round opens or closes: the garbage of the model's
// download and publication. The round's large vectors are not on the Go
// heap: internal/offheap keeps their mappings, inaccessible, for the next
// round's vectors of the same sizes.
func releaseMemory() { debug.FreeOSMemory() }
