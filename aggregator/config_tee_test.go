package aggregator

import (
	"strings"
	"testing"
)

// TestConfigTEEKinds: attestation.tee is the TEE the aggregator runs in,
// so it must be a kind with an issuer; the others fail at load with the
// reason.
func TestConfigTEEKinds(t *testing.T) {
	const base = `coordinator: 127.0.0.1:7443
tls:
  cert: tls/aggregator.pem
  key: tls/aggregator.key
  ca: tls/ca.pem
`
	tests := []struct {
		name, yaml string
		want       string // "" loads
	}{
		{"simulated", "attestation: {tee: simulated}\n", ""},
		{"aws-nitro", "attestation:\n  tee: aws-nitro\n  aws-nitro:\n    pcr0: [" + strings.Repeat("ab", 48) + "]\n", ""},
		{"azure-maa: verification only", "attestation:\n  tee: azure-maa\n", ":2: attestation.tee: azure-maa is verification-only in this build"},
		{"arm-cca: no issuer", "attestation:\n  tee: arm-cca\n", ":2: attestation.tee: arm-cca is verification-only in this build"},
		{"nvidia-gpu: not a CPU TEE", "attestation:\n  tee: nvidia-gpu\n", ":2: attestation.tee: nvidia-gpu is not a CPU TEE"},
		{"GPU section next to a CPU TEE, not enforced", "attestation:\n  tee: simulated\n  nvidia-gpu:\n    driver_versions: [550.90.07]\n",
			":3: attestation.nvidia-gpu: confed's daemons do not check GPU evidence yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := writeConfigTestFiles(t, tt.yaml+base)
			_, err := Load(path)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
