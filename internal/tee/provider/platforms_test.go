package provider

import (
	"strings"
	"testing"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/yamlcfg"
)

// Policies of the platforms added after SEV-SNP, TDX and SGX, as they
// appear in a policy file: they decode, validate, and yield a verifier;
// mistakes name their key.
func TestPlatformPolicies(t *testing.T) {
	pcr := strings.Repeat("ab", 48)
	cases := []struct {
		name, yaml, kind, wantErr string
	}{
		{"nitro", "tee: aws-nitro\naws-nitro:\n  pcr0: [" + pcr + "]\n  pcr8: [" + pcr + "]\n  binding: user_data\n  max_age: 5m\n", tee.KindNitro, ""},
		{"nitro without pcr0", "tee: aws-nitro\naws-nitro:\n  binding: nonce\n", tee.KindNitro, "pcr0"},
		{"nitro debug pcr0", "tee: aws-nitro\naws-nitro:\n  pcr0: [" + strings.Repeat("00", 48) + "]\n", tee.KindNitro, "debug-mode"},
		{"maa sgx", "tee: azure-maa\nazure-maa:\n  attestation_type: sgx\n  issuer: https://sharedeus.eus.attest.azure.net\n  key_bundle: ../maa/testdata/sharedeus_certs.json\n  mrsigners: [" + strings.Repeat("cd", 32) + "]\n  product_id: 1\n  clock_skew: 2m\n", tee.KindMAA, ""},
		{"maa snp fetch", "tee: azure-maa\nazure-maa:\n  attestation_type: sevsnpvm\n  issuer: https://sharedeus2.eus2.attest.azure.net\n  fetch_keys: true\n  launch_measurements: [" + pcr + "]\n  binding: runtime-data\n", tee.KindMAA, ""},
		{"maa no keys", "tee: azure-maa\nazure-maa:\n  attestation_type: sgx\n  issuer: https://x.attest.azure.net\n  mrsigners: [" + strings.Repeat("cd", 32) + "]\n", tee.KindMAA, "key_bundle"},
		{"cca", "tee: arm-cca\narm-cca:\n  platform_keys: [../cca/testdata/cca_rmm_cpak.pem]\n  initial_measurements: [" + strings.Repeat("00", 32) + "]\n", tee.KindCCA, ""},
		{"cca missing key file", "tee: arm-cca\narm-cca:\n  platform_keys: [nope.pem]\n  initial_measurements: [" + strings.Repeat("00", 32) + "]\n", tee.KindCCA, "platform_keys[0]"},
		{"nvgpu", "tee: nvidia-gpu\nnvidia-gpu:\n  measurements:\n    - index: 2\n      values: [" + pcr + "]\n    - index: 3\n      values: [" + pcr + ", " + pcr + "]\n  driver_versions: [550.90.07]\n", tee.KindNVGPU, ""},
		{"nvgpu empty", "tee: nvidia-gpu\nnvidia-gpu: {}\n", tee.KindNVGPU, "measurements"},
		{"unknown kind", "tee: keystone\n", "keystone", "arm-cca"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Policy
			if _, err := yamlcfg.Decode("policy.yaml", []byte(c.yaml), &p); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if p.Kind() != c.kind {
				t.Fatalf("kind %q, want %q", p.Kind(), c.kind)
			}
			err := p.Validate()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verifier(p, tee.Options{}, Hooks{}); err != nil {
				t.Fatalf("verifier: %v", err)
			}
		})
	}
}

func TestPlatformPolicyUnknownKeyRefused(t *testing.T) {
	var p Policy
	_, err := yamlcfg.Decode("policy.yaml", []byte("tee: aws-nitro\naws-nitro:\n  pcr9: []\n"), &p)
	if err == nil || !strings.Contains(err.Error(), "pcr9") {
		t.Fatalf("err = %v", err)
	}
}

func TestPlatformIssuers(t *testing.T) {
	for kind, want := range map[string]string{
		tee.KindMAA:   "Azure Attestation service",
		tee.KindNVGPU: "not a CPU TEE",
		tee.KindCCA:   "arm-cca is verification-only",
	} {
		if _, err := Issuer(kind, tee.Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", kind, err, want)
		}
	}
}
