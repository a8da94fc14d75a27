// Package snp implements confed's tee.Issuer and tee.Verifier for AMD
// SEV-SNP, on top of github.com/google/go-sev-guest.
//
// Evidence is the raw attestation report (1184 bytes) followed by the
// certificate table the host supplied, exactly as client.GetRawQuote
// returns it. A Verifier checks it in three separate steps:
//
//   - parse: bounded in size, and never panicking on malformed bytes
//     (evidence.go);
//   - verify: the report signature and the VCEK/VLEK → ASK → ARK chain up to
//     AMD's roots, with revocation checking that fails closed (chain.go);
//   - validate: the guest against the Policy — report data, measurement
//     allow-list, debug, VMPL, TCB, guest SVN, host data, SMT, product
//     (validate.go).
//
// Only when all three pass does it return tee.Claims (claims.go). Key-server
// collateral (VCEK certificates, AMD's CRL) is fetched through a cache, or,
// in offline mode, taken only from the evidence and a local bundle
// (collateral.go, bundle.go). Describe renders every report field for
// display, without verifying anything (describe.go).
//
// Package snptest provides a fake AMD (certificate chain, key server, CRL)
// whose reports are genuinely signed, for tests in other packages.
package snp
