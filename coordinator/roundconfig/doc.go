// Package roundconfig is the round configuration file of a federation: the
// one file, written by the consortium's operator, that fixes who takes part,
// the model, how participants train, how updates are aggregated, the
// deadlines of each round and which TEEs must be attested.
//
// Parse overlays the file on Default() and validates the result; every
// error names the file, the line, the key and what was expected. The
// coordinator hashes the bytes it loaded (Config.SHA256) and sends the hash
// with every task, so all parties can tell which configuration a round ran
// under. docs/config.md documents every key.
package roundconfig
