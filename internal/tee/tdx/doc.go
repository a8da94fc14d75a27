// Package tdx implements the tee seam for Intel TDX with
// github.com/google/go-tdx-guest.
//
// The Issuer runs in a TD guest and obtains quotes through Linux's
// configfs-tsm interface (ConfigfsTSMReportPath). The Verifier needs no TDX
// hardware. It works in two separate steps, and both must pass:
//
//   - verification (verify.TdxQuote): the quote's ECDSA signature, the QE
//     report signature, the PCK certificate chain up to Intel's SGX Root CA
//     (pinned in this package), and, unless Policy.Collateral.Offline,
//     Intel's collateral: TCB info and QE identity (the TCB must be
//     UpToDate) and, with check_revocations, the CRLs. A collateral fetch
//     failure fails verification; there is no fail-open path. The quoting
//     enclave must also be Intel's TD QE (MRSIGNER and ISVPRODID pinned
//     here, not debug), which matters offline, where no QE identity is
//     fetched.
//   - validation (compiled.check, on the parsed quote): the DEBUG bit of
//     TD_ATTRIBUTES (always refused: go-tdx-guest's validate package does
//     not refuse it by default), then, with validate.TdxQuote, the report
//     data, the MRTD allow-list, MRCONFIGID, the minimum TEE_TCB_SVN and
//     QE/PCE SVNs, then the RTMR allow-list.
//
// Untrusted bytes never make this package panic. go-tdx-guest's parser
// does panic on some malformed quotes (a signed-data size of 0 slices out of
// range), so parsing is bounded by MaxQuoteSize and panics are recovered
// into errors; FuzzVerify and FuzzDescribe check this.
//
// # go-tdx-guest and standard output
//
// The client and verify packages of go-tdx-guest call
// logger.Init("", false, false, os.Stdout) in their init functions, which
// points github.com/google/logger's default logger at standard output for
// the whole process. That cannot be undone: logger.Init only takes effect
// the first time it is called (and those init functions run before any of
// confed's code), the logger's writers are not exported, and logger.Close
// would close os.Stdout itself, because Init registers the writer it is
// given as something to close. So confed never calls logger.Close or
// logger.SetLevel, and instead keeps the library from logging at all:
//
//   - all of the library's informational messages are logger.V(1) or V(2),
//     off at the default level 0;
//   - its only unconditional message, the warning "Using embedded Intel
//     certificate for TDX attestation root of trust", is printed when
//     verify.Options.TrustedRoots is nil; the Verifier always passes a
//     pool (Options.TrustedRoots, or IntelRoots), so it is never printed.
//
// TestLibraryWritesNothingToStdout runs a verification in a child process
// and checks that its standard output and error stay empty (and that the
// library does print the warning when TrustedRoots is nil, so the test
// would notice a regression). Importing the client package also registers
// the global flag -tdx_guest_device_path on flag.CommandLine; confed's
// commands use their own flag sets, so it does not show up there.
package tdx
