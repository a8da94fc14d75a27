package nvgpu

import (
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
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
	block, _ := pem.Decode(rootPEM)
	if block == nil {
		return nil, fmt.Errorf("nvidia-gpu: embedded root is not PEM")
	}
	sum := sha256.Sum256(block.Bytes)
	if got := hex.EncodeToString(sum[:]); got != RootSHA256 {
		return nil, fmt.Errorf("nvidia-gpu: embedded root has fingerprint %s, want %s", got, RootSHA256)
	}
	return x509.ParseCertificate(block.Bytes)
}
