// Package participant is the daemon each institution runs next to its data.
// It joins the federation, waits for round tasks, downloads and verifies the
// signed global model, trains on local data, evaluates on its local test
// split and streams the update (local − global) to the aggregator. Raw data
// never leaves the daemon; only the update and summary metrics do.
package participant
