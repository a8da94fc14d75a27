// Package cca verifies Arm Confidential Compute Architecture (CCA)
// attestation tokens.
//
// A CCA token is a CBOR collection — tag 399 (the EAT collection of the
// RMM specification) or tag 907 (the CMW collection newer firmware emits) —
// of two COSE_Sign1 tokens: the platform token (key 44234), signed by the
// platform's attestation key (CPAK/IAK), and the realm token (key 44241),
// signed by the realm attestation key (RAK) that the realm token itself
// carries. The platform token's challenge is a hash of that RAK: that is
// what ties the realm to the platform. A Verifier checks, in separate
// steps:
//
//   - parse: strict, bounded CBOR; every claim of its documented type
//     (token.go, claims.go);
//   - verify: the realm token's signature with its RAK, the platform
//     token's signature with a pinned platform key (the endorsement; the
//     policy lists PEM public keys), and the RAK's hash in the platform
//     challenge (verify.go);
//   - validate: the platform lifecycle state is "secured" (not debug,
//     provisioning or decommissioned), the realm initial measurement and
//     personalisation value are in the policy's allow-lists, optional
//     platform implementation IDs, and the realm challenge equals the 64
//     bytes of report data of the attested connection (policy.go).
//
// There is no issuer in this build (a realm gets its token through the
// kernel's configfs-tsm report interface with the arm_cca_guest provider).
package cca
