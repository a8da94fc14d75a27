package participant

import (
	"strings"
	"testing"
)

// TestConfigTEEKinds: attest_as names a TEE this participant can run in
// (an issuer exists); aggregator_attestation a kind it can verify. A kind
// refused for that use is refused with the reason, at load.
func TestConfigTEEKinds(t *testing.T) {
	const base = `coordinator: coordinator.example:7443
tls:
  cert: pki/me.pem
  key: pki/me.key
  ca: pki/ca.pem
data:
  path: data/cleveland.data
`
	nitro := "aggregator_attestation:\n  tee: aws-nitro\n  aws-nitro:\n    pcr0: [" + strings.Repeat("ab", 48) + "]\n"
	tests := []struct {
		name, yaml string
		want       string // "" loads
	}{
		{"attest_as none", "aggregator_attestation: {tee: simulated}\nattest_as: none\n", ""},
		{"attest_as sev-snp", "aggregator_attestation: {tee: simulated}\nattest_as: sev-snp\n", ""},
		{"attest_as aws-nitro", "aggregator_attestation: {tee: simulated}\nattest_as: aws-nitro\n", ""},
		{"attest_as azure-maa: no issuer", "aggregator_attestation: {tee: simulated}\nattest_as: azure-maa\n", ":2: attest_as: azure-maa is verification-only in this build"},
		{"attest_as arm-cca: no issuer", "aggregator_attestation: {tee: simulated}\nattest_as: arm-cca\n", ":2: attest_as: arm-cca is verification-only in this build"},
		{"attest_as nvidia-gpu: not a CPU TEE", "aggregator_attestation: {tee: simulated}\nattest_as: nvidia-gpu\n", ":2: attest_as: nvidia-gpu is not a CPU TEE"},
		{"attest_as unknown", "aggregator_attestation: {tee: simulated}\nattest_as: tdx2\n", `:2: attest_as: must be none, sev-snp, tdx, sgx, aws-nitro or simulated, got "tdx2"`},
		{"aggregator on aws-nitro", nitro, ""},
		{"aggregator on nvidia-gpu alone", "aggregator_attestation:\n  tee: nvidia-gpu\n", ":2: aggregator_attestation.tee: nvidia-gpu is not a CPU TEE"},
		{"GPU section next to a CPU TEE, not enforced", "aggregator_attestation:\n  tee: simulated\n  nvidia-gpu:\n    driver_versions: [550.90.07]\n",
			":3: aggregator_attestation.nvidia-gpu: confed's daemons do not check GPU evidence yet"},
		{"aggregator on azure-maa: verified, its section checked", "aggregator_attestation:\n  tee: azure-maa\n", "aggregator_attestation: azure-maa"},
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
