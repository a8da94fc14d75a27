package aggregator

import (
	"os"
	"runtime/debug"
)

// gcPercent is the aggregator's garbage-collection target (GOGC) unless
// the GOGC environment variable sets one. The aggregator's large buffers
// (global model, sum, staging buffers) are pointer-free, so a collection
// costs little however large they are, while Go's default of 100 lets the
// garbage of streamed chunks grow to the size of everything live, several
// models' worth: at 20 it stays within a fifth of that.
const gcPercent = 20

// streamWindow is the HTTP/2 flow-control window of each participant's
// connection and stream. A fixed window (which turns off gRPC's
// bandwidth-delay estimation, whose windows grow to 16 MiB) bounds what a
// participant waiting for a staging buffer can have sent into the
// aggregator's memory; 1 MiB is one chunk, and more than loopback or a LAN
// needs for full speed on the streams being ingested.
const streamWindow = 1 << 20

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
