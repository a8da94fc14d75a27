// Package reliability is confed's reliability suite: it runs real
// processes (this binary re-executed as a coordinator, an aggregator and
// swarms of simulated participants) on loopback and checks that the
// federation holds under load, under injected faults (killed processes,
// cut, delayed and throttled connections, skewed clocks) and against
// hostile input, and that every published model and ledger record still
// verifies afterwards.
//
// Each scenario returns [Row]s; [Run] runs a whole [Plan] and returns a
// [Report], which cmd/reltable prints as a table and writes to
// reliability/results/latest.json. The short plan runs as ordinary tests
// (go test ./reliability/); the full plan runs with
// CONFED_RELIABILITY=full or through make reliability.
//
// Every wait in the suite is bounded and names what it waited for
// ([waitFor]); children are killed when the suite ends.
package reliability
