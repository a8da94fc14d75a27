// Package maa verifies Azure Attestation (MAA) tokens for AMD SEV-SNP
// confidential VMs and Intel SGX enclaves.
//
// Evidence is the token the attestation provider issued: a JWT (RS256)
// whose claims say what MAA verified of the hardware evidence it was
// given. Trusting such a token means trusting the provider: confed checks
// that the provider signed it and what it says, not the hardware evidence
// itself. A Verifier checks, in separate steps:
//
//   - parse: bounded JWT with a JSON header (alg RS256, kid) and claims
//     (token.go);
//   - verify: the RS256 signature with the provider's signing key of that
//     kid, taken from an offline JWKS bundle file and, only if the policy
//     allows fetching, from the provider's /certs endpoint (cached);
//     keys shorter than 2048 bits are refused (keys.go, verify.go);
//   - validate: issuer, expiry and not-before within a skew bound,
//     attestation type (sevsnpvm or sgx), compliance status, debuggability,
//     launch measurement or MRENCLAVE/MRSIGNER, product ID and SVN, and the
//     binding of the token's runtime data to the 64 bytes of report data of
//     the attested connection (policy.go, claims.go).
//
// There is no issuer: tokens come from the Azure Attestation service,
// which confed does not call.
package maa
