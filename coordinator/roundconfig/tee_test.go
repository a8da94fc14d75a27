package roundconfig

import (
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/confed/confed/internal/tee/cca"
	"github.com/confed/confed/internal/tee/maa"
	"github.com/confed/confed/internal/tee/nitro"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
)

// teePolicies are valid policy sections of the kinds added after sev-snp,
// tdx and sgx.
func teePolicies(t *testing.T) (nitro.Policy, maa.Policy, cca.Policy) {
	t.Helper()
	key, err := filepath.Abs("../../internal/tee/cca/testdata/cca_rmm_cpak.pem")
	if err != nil {
		t.Fatal(err)
	}
	return nitro.Policy{PCR0: []string{strings.Repeat("ab", 48)}},
		maa.Policy{AttestationType: "sevsnpvm", Issuer: "https://sharedeus2.eus2.attest.azure.net", FetchKeys: true,
			LaunchMeasurements: []string{strings.Repeat("ab", 48)}},
		cca.Policy{PlatformKeys: []string{key}, InitialMeasurements: []string{strings.Repeat("00", 32)}}
}

// TestTEEKinds: which kinds tee.aggregator, tee.participants and
// participant_policy accept, and why the others are refused.
func TestTEEKinds(t *testing.T) {
	nitroP, maaP, ccaP := teePolicies(t)
	tests := []struct {
		name   string
		change func(*TEE)
		want   string // "" valid, else part of the error
	}{
		{"aggregator aws-nitro", func(te *TEE) { te.Aggregator, te.Nitro = "aws-nitro", nitroP }, ""},
		{"aggregator azure-maa (verified by the coordinator)", func(te *TEE) { te.Aggregator, te.MAA = "azure-maa", maaP }, ""},
		{"aggregator arm-cca", func(te *TEE) { te.Aggregator, te.CCA = "arm-cca", ccaP }, ""},
		{"aggregator aws-nitro without its section", func(te *TEE) { te.Aggregator = "aws-nitro" }, "tee.aws-nitro: "},
		{"aggregator arm-cca without its section", func(te *TEE) { te.Aggregator = "arm-cca" }, "tee.arm-cca: arm-cca policy: platform_keys"},
		{"aggregator nvidia-gpu", func(te *TEE) { te.Aggregator = "nvidia-gpu" }, "tee.aggregator: nvidia-gpu is not a CPU TEE"},
		{"participants nvidia-gpu", func(te *TEE) { te.Participants = "nvidia-gpu" }, "tee.participants: nvidia-gpu is not a CPU TEE"},
		{"participants aws-nitro", func(te *TEE) { te.Participants, te.ParticipantPolicy.Nitro = "aws-nitro", nitroP }, ""},
		{"participants azure-maa", func(te *TEE) { te.Participants, te.ParticipantPolicy.MAA = "azure-maa", maaP }, ""},
		{"participants arm-cca", func(te *TEE) { te.Participants, te.ParticipantPolicy.CCA = "arm-cca", ccaP }, ""},
		{"participants aws-nitro without a policy", func(te *TEE) { te.Participants = "aws-nitro" }, "tee.participant_policy: "},
		{"participant arm-cca key file by a relative path", func(te *TEE) {
			te.Participants, te.ParticipantPolicy.CCA = "arm-cca", ccaP
			te.ParticipantPolicy.CCA.PlatformKeys = []string{"keys/cpak.pem"}
		}, `tee.participant_policy.arm-cca.platform_keys[0]: must be an absolute path, got "keys/cpak.pem"`},
		{"participant azure-maa key bundle by a relative path", func(te *TEE) {
			te.Participants, te.ParticipantPolicy.MAA = "azure-maa", maaP
			te.ParticipantPolicy.MAA.FetchKeys, te.ParticipantPolicy.MAA.KeyBundle = false, "certs.json"
		}, `tee.participant_policy.azure-maa.key_bundle: must be an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c.TEE)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestParticipantPolicyTravels: the participant policy the coordinator
// sends to the aggregator (YAML of ParticipantsPolicy) decodes strictly
// into the same policy there, for every kind participants may attest to.
func TestParticipantPolicyTravels(t *testing.T) {
	nitroP, maaP, ccaP := teePolicies(t)
	for _, kind := range provider.Kinds(provider.Verify) {
		t.Run(kind, func(t *testing.T) {
			te := TEE{Aggregator: TEESimulated, Participants: kind,
				ParticipantPolicy: PolicySections{Nitro: nitroP, MAA: maaP, CCA: ccaP}}
			switch kind {
			case "sev-snp":
				te.ParticipantPolicy.SEVSNP.Measurements = []string{strings.Repeat("ab", 48)}
			case "tdx":
				te.ParticipantPolicy.TDX.MRTD = []string{strings.Repeat("ab", 48)}
			case "sgx":
				te.ParticipantPolicy.SGX.UniqueIDs = []string{strings.Repeat("ab", 32)}
			}
			b, err := yaml.Marshal(te.ParticipantsPolicy())
			if err != nil {
				t.Fatal(err)
			}
			var got provider.Policy
			if _, err := yamlcfg.Decode("participant policy", b, &got); err != nil {
				t.Fatalf("decode: %v\n%s", err, b)
			}
			if got.Kind() != te.ParticipantsPolicy().Kind() {
				t.Fatalf("kind %q, want %q", got.Kind(), te.ParticipantsPolicy().Kind())
			}
			if err := got.Validate(); err != nil && kind != "sev-snp" && kind != "tdx" && kind != "sgx" {
				t.Fatalf("the aggregator's copy does not validate: %v", err)
			}
		})
	}
}
