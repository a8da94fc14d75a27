//go:build ego && ego_enclave

package sgx

import "github.com/edgelesssys/ego/enclave"

// verifyRemoteReport verifies inside an EGo enclave, through the EGo
// runtime (eclient's host library cannot be linked into an enclave).
// Outside an enclave it fails ("OE_UNSUPPORTED").
var verifyRemoteReport = enclave.VerifyRemoteReport
