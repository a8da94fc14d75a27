// Package sgx implements the tee seam for Intel SGX enclaves built with EGo
// (github.com/edgelesssys/ego).
//
// Verification and validation are separate. Verification (Open Enclave,
// through EGo) checks the report's signature, the PCK certificate chain and
// Intel's collateral; it yields a Report, or attestation.ErrTCBLevelInvalid
// with a Report when the platform's TCB is not up to date. Validation
// (Policy, in the untagged policy.go) then refuses debug enclaves, checks
// the report data, the TCB status (anything but UpToDate only if the policy
// allows that status; Revoked and Unknown never), MRENCLAVE against
// unique_ids and MRSIGNER, ISVPRODID and ISVSVN against signer_id,
// product_id and minimum_svn.
//
// # Builds
//
// EGo needs cgo, and verifying outside an enclave needs Open Enclave's
// host verification library, so SGX support is behind build tags:
//
//   - default (no ego tag): NewIssuer and NewVerifier return ErrNotBuilt,
//     whose message (BuildHelp) says how to build with SGX support. The
//     policy code is untagged and tested in this build, which links no
//     EGo code except the pure-Go tcbstatus package.
//   - -tags ego: the issuer (enclave.GetRemoteReport, which only works
//     inside an enclave started by `ego run`) and the verifier with
//     eclient.VerifyRemoteReport, for verifiers outside an enclave
//     (coordinator, participants, CLI). Compiling it needs cgo and Open
//     Enclave's headers and libraries (CGO_CFLAGS=-I/opt/ego/include
//     CGO_LDFLAGS=-L/opt/ego/lib, libssl-dev): without them the build fails
//     on openenclave/attestation/verifier.h.
//   - -tags ego,ego_enclave: for the aggregator enclave, built with
//     `GOTOOLCHAIN=local ego-go build -tags ego,ego_enclave`. The verifier
//     uses enclave.VerifyRemoteReport through the EGo runtime instead,
//     because eclient's host library cannot be linked into an enclave.
//     Outside an enclave it fails closed ("OE_UNSUPPORTED").
//   - -tags ego,ego_mock_eclient: compiles without Open Enclave; the
//     verifier then refuses everything. For CI only.
//
// The ego,ego_mock_eclient and ego,ego_enclave builds compile with plain
// `go` and a C compiler (EGo ships the headers they need), but not with
// CGO_ENABLED=0; TestTaggedBuilds vets and tests both in the default
// build's test run. The plain -tags ego build cannot be compiled without
// Open Enclave installed, so CI does not cover it beyond the shared code.
//
// EGo compiles enclaves with its own Go toolchain (ertgo), which may be
// older than the go directive of confed's go.mod; ego-go refuses the build
// then (GOTOOLCHAIN=local keeps it from downloading another toolchain). The
// aggregator's enclave build needs an EGo release whose Go is at least that
// version.
package sgx
