//go:build ego && !ego_enclave

package sgx

import "github.com/edgelesssys/ego/eclient"

// verifyRemoteReport verifies outside an enclave, with Open Enclave's host
// verification library (cgo), or always fails with ego_mock_eclient.
var verifyRemoteReport = eclient.VerifyRemoteReport
