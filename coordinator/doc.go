// Package coordinator runs a federation: it loads the round configuration,
// drives each round's state machine (coordinator/round), tells the
// aggregator and the participants what to do, stores every published model
// and the ledger in a bbolt file (coordinator/store) and serves the operator
// API.
//
// The coordinator never sees a participant's update: updates flow from the
// participants to the aggregator, inside its TEE. The coordinator sees who
// submitted, whether the aggregator accepted it, the participants' summary
// metrics, and the signed aggregate.
package coordinator
