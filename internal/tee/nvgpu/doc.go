// Package nvgpu verifies the attestation evidence of NVIDIA Hopper
// (H100/H200) GPUs in confidential-computing mode, and reports it next to
// the CPU TEE's claims (tee.Claims.GPU).
//
// Evidence is what the NVIDIA driver returns for a GPU (what nvtrust's
// local GPU verifier consumes): the attestation report — the SPDM 1.1
// GET_MEASUREMENTS request the driver sent (with the requester's 32-byte
// nonce) followed by the GPU's signed MEASUREMENTS response — and the
// GPU's certificate chain (leaf first). confed carries both in one JSON
// document (evidence.go). A Verifier checks, in separate steps:
//
//   - parse: the request, the response, its measurement blocks (DMTF
//     format) and its opaque data, bounded and without panics (spdm.go);
//   - verify: the chain from the GPU's attestation certificate to the
//     pinned NVIDIA Device Identity CA (embedded; root.go), and the
//     response's ECDSA P-384 / SHA-384 signature over request and response
//     (verify.go);
//   - validate: the measurements against the reference values the policy
//     lists, and the request nonce against the report data of the attested
//     connection: nonce = first 32 bytes of the 64 report-data bytes
//     (policy.go).
//
// There is no issuer: GPU evidence is collected by the NVIDIA driver
// inside the CPU TEE (NVML's nvmlDeviceGetConfComputeGpuAttestationReport
// and ...GpuCertificate), which this build does not link.
package nvgpu
