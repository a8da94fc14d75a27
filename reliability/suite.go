package reliability

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// SeedFromEnv is CONFED_RELIABILITY_SEED if set, else the time.
func SeedFromEnv() uint64 {
	if s := os.Getenv("CONFED_RELIABILITY_SEED"); s != "" {
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			return v
		}
	}
	return uint64(time.Now().UnixNano())
}

// Run runs the whole plan: load, faults, network faults, clock skew,
// hostile input and model poisoning, logging each row to log as it
// completes, and returns the report.
func Run(plan Plan, log io.Writer) *Report {
	start := time.Now()
	rep := &Report{Date: start.UTC().Format(time.RFC3339), Plan: plan.Name, Seed: plan.Seed}
	fmt.Fprintf(log, "reliability: %s plan, seed %d\n", plan.Name, plan.Seed)
	add := func(rows ...Row) {
		for _, r := range rows {
			status := "held"
			if !r.OK() {
				status = "FAILED: " + r.Err
			}
			fmt.Fprintf(log, "  %-8s %-62s %d/%d %s\n", r.Section, r.Name, r.Held, r.Tried, status)
			rep.Rows = append(rep.Rows, r)
		}
	}
	if plan.runs("load") {
		add(loadRows(plan, rep)...)
	}
	c := &faultCtx{plan: plan, rng: newRand(plan.Seed)}
	if plan.runs("faults") {
		for _, fn := range []func(*faultCtx) Row{faultParticipantKilled, faultTooFewRemain, faultAggregatorKilled, faultCoordinatorKilled} {
			add(fn(c))
		}
	}
	for _, s := range []struct {
		name string
		run  func(*faultCtx) []Row
	}{{"network", networkFaults}, {"skew", clockSkew}, {"hostile", hostileInput}, {"poisoning", modelPoisoning}} {
		if plan.runs(s.name) {
			add(s.run(c)...)
		}
	}
	rep.StoresVerified = c.verified
	for _, l := range rep.Load {
		if l.StoreVerified {
			rep.StoresVerified++
		}
	}
	rep.Verified = rep.StoresVerified > 0 && c.verifyFailed == 0
	rep.Seconds = time.Since(start).Seconds()
	return rep
}

// loadRows runs the plan's load specs.
func loadRows(plan Plan, rep *Report) []Row {
	var rows []Row
	for _, ls := range plan.Load {
		row := Row{Section: "load", Tried: 1,
			Name: fmt.Sprintf("%d participants in %d processes, %d params, %d rounds", ls.N, ls.Procs, 3*ls.Features+1, ls.Rounds)}
		l, err := RunLoad(ls)
		if err != nil {
			row.Err = err.Error()
		} else {
			row.Held = 1
		}
		if l.PeakKiB > 0 {
			rep.Load = append(rep.Load, l)
		}
		row.Detail = fmt.Sprintf("peak %.1f MB = %.2f× model (bound %.2f×), %.1f submissions/s, %.1f MB/s",
			float64(l.PeakKiB)*1024/1e6, l.PeakMultiple, l.BoundMultiple, l.SubmissionsPerSec, l.BytesPerSec/1e6)
		rows = append(rows, row)
	}
	if len(rep.Load) >= 2 {
		rows = append(rows, peakIndependentOfN(rep.Load))
	}
	return rows
}

// peakIndependentOfN compares the smallest and largest N of the same model:
// the larger may not need more than 15% (plus 16 MiB) over the smaller.
func peakIndependentOfN(ls []Load) Row {
	lo, hi := ls[0], ls[0]
	for _, l := range ls {
		if l.Params != lo.Params {
			continue
		}
		if l.N < lo.N {
			lo = l
		}
		if l.N > hi.N {
			hi = l
		}
	}
	row := Row{Section: "load", Name: fmt.Sprintf("aggregator peak independent of N (%d vs %d)", lo.N, hi.N), Tried: 1,
		Detail: fmt.Sprintf("%.1f MB vs %.1f MB", float64(lo.PeakKiB)*1024/1e6, float64(hi.PeakKiB)*1024/1e6)}
	if float64(hi.PeakKiB) <= 1.15*float64(lo.PeakKiB)+16*1024 {
		row.Held = 1
	} else {
		row.Err = "the peak grew with N"
	}
	return row
}
