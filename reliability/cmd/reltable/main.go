// Command reltable runs confed's reliability suite (package reliability)
// with real coordinator, aggregator and participant-swarm processes on
// loopback, prints the table of what was tried and what held, and writes
// it as JSON (default reliability/results/latest.json).
//
//	go run ./reliability/cmd/reltable            # full plan
//	go run ./reliability/cmd/reltable -short     # the short plan of go test
//	go run ./reliability/cmd/reltable -seed 42   # reproduce fault points
//	go run ./reliability/cmd/reltable -only load # one section
//
// It exits 1 when anything did not hold.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/confed/confed/reliability"
)

func main() {
	// Children of the suite are this binary re-executed.
	reliability.MaybeRunChild()
	short := flag.Bool("short", false, "run the short plan (tiny models, ~20 participants, each fault twice)")
	seed := flag.Uint64("seed", reliability.SeedFromEnv(), "seed of the random fault points")
	only := flag.String("only", "", "comma-separated sections to run: load, faults, network, skew, hostile, poisoning (default all)")
	out := flag.String("out", "reliability/results/latest.json", "where to write the JSON report (empty: nowhere)")
	flag.Parse()
	plan := reliability.FullPlan(*seed)
	if *short {
		plan = reliability.ShortPlan(*seed)
	}
	if *only != "" {
		plan.Sections = strings.Split(*only, ",")
	}
	rep := reliability.Run(plan, os.Stderr)
	fmt.Println()
	rep.Print(os.Stdout)
	if *out != "" {
		if err := rep.WriteJSON(*out); err != nil {
			fmt.Fprintf(os.Stderr, "reltable: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("\nwritten to %s (%.0f s)\n", *out, rep.Seconds)
	}
	if !rep.OK() {
		os.Exit(1)
	}
}
