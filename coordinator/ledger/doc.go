// Package ledger implements confed's verifiable round history: a hash chain
// of records, one genesis record followed by one record per finished round
// (published or failed).
//
// A record's canonical form is the encoding/json encoding of [Record] (see
// [Record.Canonical]); its hash is the SHA-256 of those bytes, and every
// record names the hash of its predecessor in Prev. A published round's
// record embeds the aggregator-signed model manifest, so an auditor holding
// only the ledger can check offline, with [Verify], that:
//
//   - the chain is intact (no record altered, dropped, inserted or reordered);
//   - every published model was signed by the key named in its record and the
//     record agrees with the signed manifest;
//   - every model was built on the previously published one;
//   - rounds run in the insecure simulated TEE are marked insecure;
//   - each published record's TEE evidence is the one its evidence_sha256
//     names, with a claims summary that agrees with the record.
//
// The record keeps the evidence itself, so an auditor can verify it again
// against an attestation policy, as of the time of the round, with
// confed attest verify; Verify does not, as it applies no policy.
//
// The manifest signature helpers ([SignManifest], [VerifyManifest]) live here
// too, so the signer and every verifier share one definition of the signed
// message.
package ledger
