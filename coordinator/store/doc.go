// Package store persists everything the coordinator keeps across restarts
// in one bbolt file: metadata, the participants it has seen, round status
// snapshots, published models and the round ledger.
//
// Layout (top-level buckets):
//
//	meta          key → value; "schema_version" is reserved
//	participants  name → JSON Participant
//	rounds        big-endian round → serialized confedv1.RoundStatus
//	models        big-endian round → bucket:
//	                chunks    big-endian seq → chunk bytes (1 MiB by default)
//	                signed    serialized confedv1.SignedManifest
//	                complete  JSON modelInfo: the completion marker
//	ledger        big-endian index → canonical ledger record
//
// Models are written in chunks by a [ModelWriter], a transaction per batch
// of chunks, and become visible only when [ModelWriter.Commit] writes the
// completion marker, the round status and the ledger record in one
// transaction. A model bucket without the marker is a partial write left by
// a crash; [Store.Recover] (run by [Open]) deletes it. Every transaction is
// synced to disk before it returns.
//
// A Store is safe for concurrent use. Only one process may open a file at a
// time.
package store
