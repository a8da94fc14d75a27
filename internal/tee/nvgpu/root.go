package nvgpu

import (
	"crypto/x509"
	_ "embed"

	"github.com/confed/confed/internal/tee/pinned"
)

// rootPEM is the NVIDIA Device Identity CA certificate (self-signed,
// ECDSA P-384, valid 2021-11-05 to 9999-12-31) that NVIDIA's local GPU
// verifier pins: github.com/NVIDIA/nvtrust,
// guest_tools/gpu_verifiers/local_gpu_verifier/src/verifier/certs/verifier_device_root.pem
// (commit b75351ab108ff098076954e1a20e9479b51dabb7).
//
//go:embed nvidia_device_identity_root.pem
var rootPEM []byte

// RootSHA256 is the SHA-256 fingerprint of the embedded root's DER.
const RootSHA256 = "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"

// DeviceRoot returns the embedded NVIDIA Device Identity CA, after checking
// its fingerprint.
func DeviceRoot() (*x509.Certificate, error) {
	return pinned.Root(rootPEM, RootSHA256, "nvidia-gpu", "root")
}
