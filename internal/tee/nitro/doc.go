// Package nitro implements confed's tee.Verifier (and, inside an enclave,
// tee.Issuer) for AWS Nitro Enclaves.
//
// Evidence is the attestation document the Nitro Security Module (NSM)
// returns: a COSE_Sign1 message (ES384) whose payload is a CBOR map with the
// enclave's PCRs, the signing certificate, the CA bundle up to AWS's root,
// and three caller-chosen fields (nonce, user_data, public_key). A Verifier
// checks it in separate steps:
//
//   - parse: bounded, strict CBOR; every field of the documented type
//     (document.go);
//   - verify: the certificate chain from the document's certificate through
//     its cabundle to the pinned AWS Nitro Enclaves Root-G1 (embedded;
//     root.go), and the COSE signature with the certificate's key
//     (verify.go);
//   - validate: against the Policy — PCR0/1/2/8 allow-lists, a debug-mode
//     enclave (PCR0 all zeros) refused, the document's age, and the field
//     chosen by the policy (nonce by default) equal to the 64 bytes of
//     report data that bind the attested connection (policy.go).
//
// Issuer asks /dev/nsm for a document (issuer.go, nsm_linux.go); anywhere
// else it fails saying the machine is not a Nitro Enclave. Package
// nitrotest builds genuinely signed documents under a test root.
package nitro
