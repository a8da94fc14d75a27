// Package secagg is SecAgg+ secure aggregation (Bell et al., CCS 2020, on
// Bonawitz et al., CCS 2017): participants mask their fixed-point updates so
// that the server (the aggregator) learns only their sum, even if the
// aggregator's TEE were broken.
//
// The package is pure: Client and Server are state machines driven by
// encoded messages (proto/confed/v1/secagg.proto); moving the bytes is the
// caller's job. One session runs five stages:
//
//	advertise keys -> share keys -> masked input -> consistency -> unmask
//
// Every participant-to-server message is signed by the participant's
// identity key (its TLS key, ECDSA P-256, or Ed25519) and carries the
// session, stage and sender; the server refuses tampered, replayed,
// out-of-stage and foreign messages with a *RefusedError naming the reason.
// Server-to-participant messages are not trusted: their contents are the
// participants' own signed messages, or shares under authenticated
// encryption between neighbours.
//
// Masks live in the ring Z_{2^32} of internal/fixedpoint: a participant
// quantises its weighted update with fixedpoint.Quantise32, appends its
// weight, and adds a self mask PRG(b_i) and, for each neighbour j, ±PRG(s_ij)
// where s_ij is an X25519 agreement. Masks are AES-256-CTR key streams
// expanded one chunk (1 MiB) at a time and added with
// fixedpoint.DefaultKernel32, never materialised whole. The self-mask seed
// b_i and the mask secret key are Shamir-shared (over GF(2^256+297)) among
// the participant and its neighbours with threshold t; at unmasking each
// survivor reveals, per neighbour, the share of b (if the neighbour's input
// arrived) or of the key (if it dropped), never both.
//
// Session.Build turns a round's wire parameters (confedv1.SecAggParams:
// seed, roster certificates, threshold, degree) into the Config every party
// derives identically, verifying each certificate against the federation
// CA. The federation runs the server in the aggregator
// (aggregator/secagg*.go) and a client in each participant daemon
// (participant/secagg.go).
//
// docs/secure-aggregation.md describes the protocol, what each party
// learns, how the federation runs it, and how to choose the threshold and
// the neighbour degree.
package secagg
