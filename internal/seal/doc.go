// Package seal encrypts a participant's update, chunk by chunk, to a
// per-round public key of the aggregator with HPKE (RFC 9180, Go's
// crypto/hpke), so that only the attested aggregator can read it, whatever
// terminates the participant's TLS connection.
//
// # Roles
//
// The aggregator creates one [RoundKey] per round ([NewRoundKey]); the
// private half lives only in its memory and is dropped with
// [RoundKey.Destroy] when the round ends. Other code binds
// [RoundKey.PublicKey] into the aggregator's attested claims. A participant
// that has verified those claims calls [NewSealer] with the public key and
// the [Context] it expects, sends [Sealer.Header] once (in the update
// header) and then one [Sealer.Seal] output per chunk. The aggregator calls
// [NewOpener] with the header and the Context it knows from its own state
// (federation, round, its own measurement, and the participant name from
// the client certificate), [Opener.Open] for each chunk and [Opener.Finish]
// at the end of the stream.
//
// # Suite: MLKEM768-X25519 (X-Wing), HKDF-SHA256, AES-256-GCM (exported key)
//
// The KEM is the hybrid ML-KEM-768 + X25519 ("X-Wing", HPKE KEM 0x647a,
// draft-ietf-hpke-pq) rather than DHKEM(X25519, HKDF-SHA256):
//
//   - Updates are derived from hospitals' patient data and can leak it
//     (gradient inversion, membership inference); an adversary who records
//     sealed streams today must not be able to open them once a
//     cryptographically relevant quantum computer exists. With DHKEM(X25519)
//     alone, recorded streams fall to such a computer; X-Wing stays secure
//     if either ML-KEM-768 or X25519 holds. The TLS layer already negotiates
//     X25519MLKEM768 by default in Go 1.26; the sealing layer should not be
//     weaker than the channel it is meant to back up.
//   - The cost is paid once per stream, not per chunk (see below): a
//     1216-byte public key (bound into evidence through a hash, so its size
//     does not matter), a 1120-byte encapsulation in the update header, and
//     a few hundred microseconds of KEM work per update (BenchmarkNewSealer,
//     BenchmarkNewOpener), next to milliseconds of AES-GCM over megabytes.
//   - HKDF-SHA256 is the KDF of RFC 9180 and Go's own X-Wing test vectors
//     include it; AES-256-GCM runs at several GB/s with AES-NI/VAES, which
//     every TEE-capable server CPU (SEV-SNP, TDX, SGX) has, and 256-bit keys
//     keep a margin against Grover. ChaCha20-Poly1305 would only win on CPUs
//     without AES instructions.
//
// If the enclave toolchain must be older than Go 1.26, an RFC 9180
// implementation with X-Wing (for example cloudflare/circl, once checked)
// can interoperate; the suite identifiers are in the stream header.
//
// # One HPKE context per stream
//
// A stream (one submission of one update) uses a single HPKE context: the
// sender encapsulates once ([NewSealer]), the encapsulated key travels once
// in the stream header, and every chunk is sealed with a key derived from
// that context. Compared with single-shot HPKE per chunk this costs one KEM
// operation per update instead of one per chunk, 16 bytes per chunk instead
// of 16+1120, and it gives ordering for free: each chunk's nonce is derived
// from its sequence number, so a reordered, repeated or dropped chunk
// cannot authenticate. The chunk sequence number is bound in the AAD anyway
// (explicit is better than implicit, and the check is made before
// decryption so that the error says what happened), as is the final-chunk
// flag, so that truncation is detected.
//
// # Chunk AEAD (version 2): AES-256-GCM under an exported key
//
// The HPKE context is export-only (AEAD id 0xFFFF, RFC 9180 section 5.3).
// Both ends derive from it
//
//	key  = Export("confed/v2/sealed-update/chunk-key", 32)
//	base = Export("confed/v2/sealed-update/chunk-nonce", 12)
//
// and chunk seq is AES-256-GCM under key, with nonce base ⊕ seq (seq
// big-endian in the last 8 bytes) and the AAD below: the same construction
// as HPKE's own AEAD (RFC 9180 section 5.2, key and base nonce from the key
// schedule), with the key taken from the exporter instead, as Oblivious
// HTTP (RFC 9458 section 4.4) does for its responses. The exporter outputs
// are pseudorandom and independent of each other and of the key
// confirmation (different exporter contexts). What this buys: crypto/hpke's
// Seal and Open return a new buffer per call, 1 MiB per chunk, while
// crypto/cipher's AEAD writes into the caller's, so [Sealer.SealTo] and
// [Opener.OpenTo] seal and open a stream without allocating (in place, for
// the aggregator). Version 1 headers (HPKE's AES-256-GCM per chunk) are
// refused with [ErrUnsupportedSuite].
//
// # Bindings
//
// info (key schedule, RFC 9180 section 5.1), each part prefixed with its
// 8-byte big-endian length:
//
//	"confed/v1/sealed-update/info" ‖ federation ‖ round (8 bytes BE) ‖
//	aggregator measurement ‖ participant
//
// The participant is in info as well as in every AAD, so a stream sealed
// for another participant is refused by key confirmation in [NewOpener],
// before any chunk is read.
//
// AAD of chunk seq:
//
//	len‖"confed/v1/sealed-update/chunk" ‖ len‖participant ‖ round (8) ‖
//	seq (8) ‖ last (1 byte: 0x00 or 0x01)
//
// Key confirmation: the header carries
// Export("confed/v1/sealed-update/key-confirmation", 32) of the sender's
// context. The opener computes the same value from its own context and
// compares in constant time, so a header sealed to another round key, or
// with any other federation, round, measurement or participant, is refused
// at [NewOpener] with [ErrKeyMismatch]. The exporter secret is independent
// of the AEAD key (RFC 9180 section 5.3).
//
// # Wire format
//
// Stream header ([Sealer.Header], the header argument of [NewOpener]),
// version 2, big-endian integers:
//
//	offset  size  field
//	0       1     version = 0x02
//	1       2     kem_id  = 0x647a (MLKEM768-X25519)
//	3       2     kdf_id  = 0x0001 (HKDF-SHA256)
//	5       2     aead_id = 0xffff (export-only; chunks: AES-256-GCM)
//	7       8     round
//	15      1+F   federation, 1-byte length then bytes (1..255)
//	.       1+M   aggregator measurement, 1-byte length then bytes (1..255)
//	.       1+P   participant, 1-byte length then bytes (1..255)
//	.       2     length of enc = 1120
//	.       1120  enc (ML-KEM-768 ciphertext ‖ X25519 ephemeral public key)
//	.       32    key confirmation
//
// Total: 1172+F+M+P bytes (for example 1241 bytes with a 12-byte
// federation name, a 48-byte SEV-SNP measurement and a 9-byte participant
// name). Nothing may follow. The federation, round, measurement and
// participant in the header are the sender's claim, in clear; they only
// serve to give a precise error ([ErrWrongFederation], [ErrWrongRound],
// [ErrWrongMeasurement], [ErrWrongParticipant]). The opener never uses them
// for cryptography: it derives info from its own Context, so a header that
// lies is refused by key confirmation.
//
// Chunk: the AEAD ciphertext of the plaintext chunk, [Overhead] = 16 bytes
// longer (the GCM tag). Its sequence number and final-chunk flag travel
// beside it in the protocol message; they are authenticated through the AAD
// and the nonce. A final chunk may be empty (16 bytes on the wire), so
// a sender that learns the end of its input only at EOF can close the
// stream with Seal(n, nil, true).
//
// # Refusals
//
// [Opener.Open] checks, in this order, and the first refusal is sticky (the
// stream is dead; later calls return [ErrStreamFailed] wrapping it):
// destroyed key ([ErrKeyDestroyed]), data after the final chunk
// ([ErrAfterLast]), seq below the next expected one ([ErrDuplicate]), seq
// above it ([ErrOutOfOrder]), size ([ErrChunkTooLarge], or [ErrTampered]
// below 16 bytes), then authentication ([ErrTampered]: modified
// ciphertext, a chunk spliced from another stream, a wrong final-chunk
// flag, or a relabelled sequence number). [Opener.Finish] refuses a stream
// that never delivered its final chunk ([ErrTruncated]).
//
// A whole stream replayed under the same round key (same header) is refused
// by [NewOpener] with [ErrReplayedStream]: the round key remembers the
// SHA-256 of every encapsulation it has opened (at most [MaxStreamsPerKey]).
// A stream from another round fails on the round binding and, since keys
// rotate, on the key.
//
// # What this does not do
//
// HPKE base mode authenticates nothing about the sender: anyone holding the
// public key can produce a valid stream naming any participant. The
// participant's identity rests on the mutually authenticated TLS connection
// terminating inside the TEE (the aggregator takes Context.Participant from
// the client certificate). If TLS may terminate outside the TEE, the
// stream header must also be signed with the participant's certificate key.
// The clear update header (example count, hashes, metrics) is neither
// encrypted nor authenticated by this package.
//
// # Erasing keys: Go's limits
//
// [RoundKey.Destroy] zeroes the 32-byte X-Wing seed that this package holds,
// best-effort zeroes the seed kept inside crypto/hpke's private key (its
// Bytes method returns that slice in Go 1.26, an implementation detail),
// and drops every reference so that the round key and all openers made
// from it refuse further use. It cannot overwrite the expanded ML-KEM-768
// decapsulation key or the X25519 scalar inside crypto/mlkem and
// crypto/ecdh (no API exposes them), nor the AES-GCM key schedules of
// per-stream chunk AEADs, nor copies that the runtime may have left on
// stacks, in registers or in freed heap memory. Those are reclaimed by the
// garbage collector but not wiped. Go 1.26's runtime/secret (behind
// GOEXPERIMENT=runtimesecret, linux/amd64 and arm64 only) can erase such
// temporaries once it is stable; until then the protection of key material
// at rest in memory is the TEE's memory encryption.
//
// Sealer, Opener and RoundKey are safe for concurrent use; a Sealer's or
// Opener's chunks are still one ordered sequence.
package seal
