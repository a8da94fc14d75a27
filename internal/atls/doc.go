// Package atls is attested TLS for gRPC: transport credentials that run
// confed's mutual TLS 1.3 (internal/pki) and then, before gRPC sees the
// connection, exchange TEE evidence over that TLS connection.
//
// # Binding
//
// Evidence binds 64 bytes of report data (see internal/tee):
//
//	tee.ReportData(LabelEvidence,
//	    role,                   // "client" or "server": the sender's protocol role
//	    []byte{ProtocolVersion},
//	    exporter,               // tls.ConnectionState.ExportKeyingMaterial(ExporterLabel, nil, 32)
//	    SHA-256(SPKI),          // the sender's TLS certificate public key
//	    binding,                // the sender's Config.Binding (e.g. HPKE and signing keys)
//	    federation,             // Context.Federation
//	    uint64be(round))        // Context.Round
//
// The TLS 1.3 exporter is unique to one connection and known only to its two
// ends, so evidence relayed from another connection, or replayed from an
// earlier one, does not verify here, even when the relay holds the same
// certificate key. No nonce round trip is needed. The role stops a peer's
// evidence from being reflected back to it. Evidence is issued only after
// mutual TLS has succeeded, so only federation members can make a server
// call its TEE.
//
// # Exchange
//
// After the TLS handshake:
//
//  1. server → client: evidence (if the server has an Issuer) or ok. Its
//     flags carry "want evidence" when the server has a Verifier.
//  2. client: refuses (refusal frame) if a Verifier is set and the evidence
//     does not verify, or if Required is set and there is none. Otherwise
//     it sends its own evidence if asked and it has an Issuer, else ok.
//  3. server → client, only if it asked: ok, or a refusal if the evidence
//     does not verify or Required is set and there is none.
//
// Either side may send a refusal instead of its next frame; the exchange
// ends there. The refused side returns a *RefusalError with ByPeer set and
// the same reason; gRPC clients see it in the RPC status ("transport:
// authentication handshake failed: atls: refused by server …: attestation
// refused: …"). The whole handshake, TLS included, is bounded by
// Config.HandshakeTimeout and, on a client, by the dial context.
//
// # Wire format
//
// Every frame is
//
//	version   1 byte   ProtocolVersion (1)
//	type      1 byte   1 evidence, 2 refusal, 3 ok
//	length    4 bytes  big-endian payload length
//	payload   length bytes
//
// A frame longer than its type allows is refused before its payload is read:
//
//	evidence  flags      1 byte   bit 0: want evidence (server only); other bits 0
//	          kind       1-byte length + 1..64 of [A-Za-z0-9._-]   (tee.Evidence.Kind)
//	          federation 1-byte length + 1..63 of [A-Za-z0-9._-]
//	          round      8 bytes big-endian
//	          exporter   32 bytes: first half of tee.ReportData(
//	                     "confed/v1/atls-exporter-digest", exporter)
//	          binding    4-byte length + 0..MaxBindingSize (64 KiB)
//	          evidence   4-byte length + 1..MaxEvidenceSize (1 MiB)   (tee.Evidence.Raw)
//	          no trailing bytes
//	refusal   reason: 1..MaxReasonSize (1024) bytes of UTF-8 without control
//	          characters or surrounding space
//	ok        flags      1 byte (as in evidence)
//
// Federation, round and exporter digest repeat what the report data binds;
// they let the receiver say precisely why it refuses ("does not bind this
// connection", "is for round 3"). Only the verifier's report-data check
// enforces the binding.
//
// # Results
//
// The connection's AuthInfo (embedding credentials.TLSInfo) carries the
// peer's certificate identity and, if verified, its claims, evidence and
// binding: ClaimsFromContext and AuthInfoFromContext in server handlers,
// AuthInfoFromPeer with grpc.Peer on clients, and Config.OnHandshake on both
// sides.
package atls
