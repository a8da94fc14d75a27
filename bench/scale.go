package bench

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/confed/confed/internal/yamlcfg"
)

// The rows registered here compare confed with systems outside this
// package rather than with one kernel: Flower's numpy aggregation
// (flower.go), the aggregator's peak memory as the number of updates grows
// (peak.go), and the attested, sealed SubmitUpdate stream with a bare gRPC
// stream (stream.go). Their sizes are the Flower*, Peak* and
// StreamFeatures fields of Sizes; Suite appends them after its other rows.

// Metrics reported by the rows that measure memory. benchtable prints them
// in a second table with peak ÷ model and the ratio of the row's peak to
// its baseline's.
const (
	// PeakRSSMetric is the peak resident set size of the process that
	// aggregated (VmHWM), in bytes.
	PeakRSSMetric = "peakRSS-B"
	// ModelBytesMetric is the size of one model (4·d bytes of float32) that
	// PeakRSSMetric is read against.
	ModelBytesMetric = "model-B"
)

// reportPeak reports the peak RSS of the process that aggregated and the
// model size it is read against. Call it after the b.Loop loop.
func reportPeak(b *testing.B, peakBytes, modelBytes int64) {
	b.ReportMetric(float64(peakBytes), PeakRSSMetric)
	b.ReportMetric(float64(modelBytes), ModelBytesMetric)
}

// Notes are facts about the environment that a row learned while running
// (which numpy and BLAS the Flower baseline used), keyed by topic.
// benchtable prints them under the table and writes them to the JSON.
var (
	notesMu sync.Mutex
	notes   = map[string]string{}
)

// SetNote records a note under key, replacing an earlier one.
func SetNote(key, text string) {
	notesMu.Lock()
	defer notesMu.Unlock()
	notes[key] = text
}

// Notes returns a copy of the notes recorded so far.
func Notes() map[string]string {
	notesMu.Lock()
	defer notesMu.Unlock()
	return maps.Clone(notes)
}

// scaleCases returns the Flower, Peak and Stream rows for sizes s (none
// for a size list left empty):
//
//	Flower/numpy/N=<n>,d=<d>   Flower's aggregate() in numpy (python3)   reference, once
//	Flower/confed/N=<n>,d=<d>  ingest + fold of n updates, then Apply    baseline Flower/numpy, once
//	Flower/fold/N=<n>,d=<d>    fold of n decoded updates, then Apply     baseline Flower/numpy, once
//	                           (what numpy's aggregate() does: no hashing, decoding or checks)
//	Peak/confed/N=<n>,d=<d>    a child process ingesting and folding n   baseline the first Peak row, once
//	Aggregator/<mode>-k<k>/N=<n>,d=<d>  the real aggregator in a child process with k staging
//	                           buffers, n participants submitting over loopback: its peak RSS
//	                           in the training round (float: float32 updates, ring: fixed point);
//	                           baseline the first row of the mode, once
//	Stream/grpc-tls/F=<f>      bare gRPC client stream over TLS 1.3      reference
//	Stream/confed/F=<f>        attested, sealed SubmitUpdate to a real   baseline Stream/grpc-tls
//	                           coordinator + aggregator
func scaleCases(s Sizes) []Case {
	var cases []Case
	for _, d := range s.FlowerD {
		for _, n := range s.FlowerN {
			size := fmt.Sprintf("N=%d,d=%s", n, Label(d))
			numpy := "Flower/numpy/" + size
			cases = append(cases,
				Case{Name: numpy, Once: true, Bench: func(b *testing.B) { FlowerNumpy(b, n, d) }},
				Case{Name: "Flower/confed/" + size, Baseline: numpy, Once: true, Bench: func(b *testing.B) { FlowerConfed(b, n, d) }},
				Case{Name: "Flower/fold/" + size, Baseline: numpy, Once: true, Bench: func(b *testing.B) { FlowerFold(b, n, d) }},
			)
		}
	}
	if d := s.PeakD; d > 0 {
		base := ""
		for _, n := range s.PeakN {
			name := fmt.Sprintf("Peak/confed/N=%d,d=%s", n, Label(d))
			cases = append(cases, Case{Name: name, Baseline: base, Once: true, Bench: func(b *testing.B) { PeakConfed(b, n, d) }})
			if base == "" {
				base = name
			}
		}
	}
	if d := s.PeakD; d > 0 {
		// The aggregator's defaults (staging buffers auto: 1 in float, 2
		// in the 32-bit ring; dynamic HTTP/2 windows) in both modes; float
		// with 2 buffers, the default before auto; and the smallest memory
		// it can work in: fixed point, 1 buffer, stream_window 64KiB.
		for _, v := range []struct {
			mode   string
			k      int // 0: auto
			window yamlcfg.ByteSize
		}{{"float", 0, 0}, {"ring", 0, 0}, {"float", PeakStaging, 0}, {"ring", 1, 64 * yamlcfg.KiB}} {
			base := ""
			variant := fmt.Sprintf("%s-k%d", v.mode, v.k)
			if v.k == 0 {
				variant = v.mode + "-auto"
			}
			if v.window > 0 {
				variant += "-w" + strings.ToLower(v.window.String())
			}
			for _, n := range s.PeakN {
				name := fmt.Sprintf("Aggregator/%s/N=%d,d=%s", variant, n, Label(d))
				cases = append(cases, Case{Name: name, Baseline: base, Once: true,
					Bench: func(b *testing.B) { PeakAggregator(b, n, d, v.k, v.mode == "ring", v.window) }})
				if base == "" {
					base = name
				}
			}
		}
	}
	for _, f := range s.StreamFeatures {
		grpcName := "Stream/grpc-tls/F=" + Label(f)
		cases = append(cases,
			Case{Name: grpcName, Bench: func(b *testing.B) { StreamGRPC(b, f) }},
			Case{Name: "Stream/confed/F=" + Label(f), Baseline: grpcName, Bench: func(b *testing.B) { StreamConfed(b, f) }},
		)
	}
	return cases
}
