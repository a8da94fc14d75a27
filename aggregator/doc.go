// Package aggregator is the part of confed that runs inside a TEE. It holds
// the only plaintext copies of participants' updates: it validates each
// update stream as it arrives, folds accepted ones into a weighted sum held
// in memory proportional to one model, signs the new global model with a key
// bound in its TEE evidence, and hands the aggregate to the coordinator.
//
// Its dependencies are kept small on purpose (no database, no web UI); a
// test in cmd/confed-aggregator enforces that.
package aggregator
