package tee

import (
	"fmt"
	"os"
)

// Options select and configure a TEE implementation.
type Options struct {
	// AllowInsecureSimulated must be set (by the --insecure-simulated-tee
	// flag) before the simulated TEE is used or accepted.
	AllowInsecureSimulated bool
}

// hardwarePaths are the guest interfaces each hardware TEE needs.
var hardwarePaths = map[string][]string{
	KindSEVSNP: {"/sys/kernel/config/tsm/report", "/dev/sev-guest"},
	KindTDX:    {"/sys/kernel/config/tsm/report", "/dev/tdx_guest"},
	KindSGX:    {"/dev/sgx_enclave"},
	KindNitro:  {"/dev/nsm"},
	KindCCA:    {"/sys/kernel/config/tsm/report"},
}

// kindList names the kinds of evidence confed knows, for messages.
const kindList = "sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca, nvidia-gpu or simulated"

// ErrUnsupportedVerifier explains that this build cannot verify evidence of
// kind. Verifying needs no TEE hardware on the verifying machine.
func ErrUnsupportedVerifier(kind string) error {
	if _, ok := hardwarePaths[kind]; !ok {
		return fmt.Errorf("unknown TEE kind %q (want %s)", kind, kindList)
	}
	return fmt.Errorf("no verifier for %s evidence in this build", kind)
}

// ErrUnsupported explains why a hardware TEE cannot be used by this build or
// on this machine to issue evidence.
func ErrUnsupported(kind string) error {
	paths, ok := hardwarePaths[kind]
	if !ok {
		return fmt.Errorf("unknown TEE kind %q (want %s)", kind, kindList)
	}
	var present []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			present = append(present, p)
		}
	}
	if len(present) == 0 {
		return fmt.Errorf("%s requested but this machine has no %s guest interface (none of %v exists)", kind, kind, paths)
	}
	return fmt.Errorf("%s requested and %v exists, but no issuer for %s evidence is available in this build", kind, present, kind)
}
