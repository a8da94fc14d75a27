package reliability

import (
	"fmt"
	"os"
	"time"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/procstat"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// LoadSpec is one load run: N participants in Procs swarm processes submit
// concurrently to one aggregator with Staging buffers, for Rounds rounds of
// a logistic regression with Features features (3F+1 parameters).
type LoadSpec struct {
	N, Features, Procs, Rounds, Staging int
	// CheckBound fails the run when the aggregator's peak exceeds the
	// stated bound (off for race-instrumented children).
	CheckBound bool
}

// Load is what a load run measured.
type Load struct {
	N          int   `json:"n"`
	Features   int   `json:"features"`
	Params     int   `json:"params"`
	ModelBytes int64 `json:"model_bytes"`
	Staging    int   `json:"staging"`
	Procs      int   `json:"procs"`
	Rounds     int   `json:"rounds"`
	// RoundPeaksKiB is the aggregator's VmHWM over each round (reset with
	// clear_refs between rounds); PeakKiB their maximum.
	RoundPeaksKiB []int64 `json:"round_peaks_kib"`
	PeakKiB       int64   `json:"peak_kib"`
	// PeakMultiple is PeakKiB over the model size; BoundMultiple the
	// stated bound, (Staging + boundModels) models plus boundSlack.
	PeakMultiple  float64 `json:"peak_multiple"`
	BoundMultiple float64 `json:"bound_multiple"`
	// SubmissionsPerSec and BytesPerSec are over the submission windows
	// (first header to last acceptance of each round).
	SubmissionsPerSec float64 `json:"submissions_per_sec"`
	BytesPerSec       float64 `json:"bytes_per_sec"`
	SubmitSeconds     float64 `json:"submit_seconds"`
	// StoreVerified: the coordinator's file verified after the run.
	StoreVerified bool `json:"store_verified"`
}

// The stated memory bound of the aggregator: the float64 sum (two models'
// worth), the k staging buffers, and while closing the global model, the
// new model and its encoding (three more); per served connection (at most
// max_connections) its flow-control window and TLS, HTTP/2 and sealed-chunk
// buffers; plus a constant for the runtime. It does not depend on N. The
// per-connection allowance assumes windows of at most 1 MiB: stream_window
// 1MiB, or gRPC's dynamic window, which starts at 64 KiB and grows only on
// connections being read (a stream_window of 16 MiB would need 16 MiB).
const (
	boundModels  = 5
	boundPerConn = 3 << 19 // 1.5 MiB
	boundSlack   = 96 << 20
	// loadConnections is the aggregator's max_connections in load runs
	// (its default).
	loadConnections = 64
)

// Bound is the stated bound on the aggregator's peak for a model of
// modelBytes with k staging buffers and at most conns connections.
func Bound(modelBytes int64, k, conns int) int64 {
	return int64(k+boundModels)*modelBytes + int64(conns)*boundPerConn + boundSlack
}

// RunLoad runs ls and returns its figures; the error says what did not
// hold (rounds that failed, participants not included once, the bound).
func RunLoad(ls LoadSpec) (Load, error) {
	l := Load{N: ls.N, Features: ls.Features, Staging: ls.Staging, Procs: ls.Procs, Rounds: ls.Rounds}
	spec, err := lrSpec(ls.Features)
	if err != nil {
		return l, err
	}
	l.Params, l.ModelBytes = spec.NumParams(), model.SafetensorsSize(spec)
	all := names("p", ls.N)
	f, err := StartFed(FedSpec{Participants: all, Min: ls.N, Features: ls.Features, Rounds: ls.Rounds,
		RoundDeadline: 30 * time.Minute, JoinTimeout: time.Hour, MaxConcurrent: ls.Staging, MaxConnections: loadConnections})
	if err != nil {
		return l, err
	}
	defer f.Close()
	if _, err := f.WaitRoundState(0, 2*time.Minute, confedv1.RoundState_ROUND_STATE_PUBLISHED); err != nil {
		return l, err
	}
	if err := clearRefs(f.Agg.Pid()); err != nil {
		return l, err
	}
	var swarms []*Swarm
	defer func() {
		for _, s := range swarms {
			s.Close()
		}
	}()
	per := (ls.N + ls.Procs - 1) / ls.Procs
	for i := 0; i < ls.N; i += per {
		s, err := f.StartSwarm(fmt.Sprintf("swarm-%d", i/per), all[i:min(i+per, ls.N)],
			SwarmSpec{Seed: uint64(i), ChunkSize: 1 << 20})
		if err != nil {
			return l, err
		}
		swarms = append(swarms, s)
	}
	var submitTime time.Duration
	for r := uint64(1); r <= uint64(ls.Rounds); r++ {
		st, err := f.WaitRoundState(r, 30*time.Minute, confedv1.RoundState_ROUND_STATE_PUBLISHED, confedv1.RoundState_ROUND_STATE_FAILED)
		if err != nil {
			return l, err
		}
		peak := procstat.KiB(f.Agg.Pid(), "VmHWM")
		if err := clearRefs(f.Agg.Pid()); err != nil {
			return l, err
		}
		if st.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED {
			return l, fmt.Errorf("round %d failed under load: %s", r, st.GetReason())
		}
		if n := included(st); n != ls.N {
			return l, fmt.Errorf("round %d published with %d of %d participants included", r, n, ls.N)
		}
		l.RoundPeaksKiB = append(l.RoundPeaksKiB, peak)
		l.PeakKiB = max(l.PeakKiB, peak)
		var first, last time.Time
		acc := 0
		for _, s := range swarms {
			a, b := s.Window(r)
			if first.IsZero() || (!a.IsZero() && a.Before(first)) {
				first = a
			}
			if b.After(last) {
				last = b
			}
			acc += s.AcceptedIn(r)
		}
		if acc != ls.N {
			return l, fmt.Errorf("round %d: the swarms saw %d acceptances, want %d", r, acc, ls.N)
		}
		submitTime += last.Sub(first)
	}
	l.SubmitSeconds = submitTime.Seconds()
	if l.SubmitSeconds > 0 {
		subs := float64(ls.N * ls.Rounds)
		l.SubmissionsPerSec = subs / l.SubmitSeconds
		l.BytesPerSec = subs * float64(l.ModelBytes) / l.SubmitSeconds
	}
	l.PeakMultiple = float64(l.PeakKiB<<10) / float64(l.ModelBytes)
	for _, s := range swarms {
		s.Close()
	}
	swarms = nil
	if err := f.StopCoordinator(); err != nil {
		return l, err
	}
	if _, err := VerifyStore(f.DBPath(), spec); err != nil {
		return l, err
	}
	l.StoreVerified = true
	bound := Bound(l.ModelBytes, ls.Staging, loadConnections)
	l.BoundMultiple = float64(bound) / float64(l.ModelBytes)
	if ls.CheckBound && l.PeakKiB<<10 > bound {
		return l, fmt.Errorf("aggregator peak %d KiB exceeds the bound (%d + %d) × %d B + %d × 1.5 MiB + %d MiB = %d KiB",
			l.PeakKiB, ls.Staging, boundModels, l.ModelBytes, loadConnections, boundSlack>>20, bound>>10)
	}
	return l, nil
}

// included counts the included submissions of a round.
func included(st *confedv1.RoundStatus) int {
	n := 0
	for _, s := range st.GetSubmissions() {
		if s.GetIncluded() {
			n++
		}
	}
	return n
}

// clearRefs resets the peak RSS (VmHWM) of pid.
func clearRefs(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the aggregator's peak RSS: %w", err)
	}
	return nil
}
