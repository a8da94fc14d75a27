package provider

import (
	"slices"
	"strings"
	"testing"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/nvgpu"
	"github.com/confed/confed/internal/yamlcfg"
)

// TestKindRules: what each TEE kind may be used for. A refusal says why.
func TestKindRules(t *testing.T) {
	tests := []struct {
		kind          string
		run, verify   string // "" allowed, else a part of the reason
		issuerRefusal string // for kinds refused for Run: what Issuer says
	}{
		{kind: "sev-snp"},
		{kind: "tdx"},
		{kind: "sgx"},
		{kind: "aws-nitro"},
		{kind: "simulated"},
		{kind: tee.KindSimulated},
		{kind: "azure-maa", run: "verification-only", issuerRefusal: "Azure Attestation service"},
		{kind: "arm-cca", run: "verification-only", issuerRefusal: "no issuer of Arm CCA"},
		{kind: "nvidia-gpu", run: "not a CPU TEE", verify: "not a CPU TEE", issuerRefusal: "only checked next to a CPU TEE"},
		{kind: "keystone", run: "not a TEE kind", verify: "not a TEE kind"},
		{kind: "", run: "not a TEE kind", verify: "not a TEE kind"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			for _, c := range []struct {
				use  Use
				want string
			}{{Run, tt.run}, {Verify, tt.verify}} {
				err := CheckKind(tt.kind, c.use)
				switch {
				case c.want == "" && err != nil:
					t.Errorf("use %d: refused: %v", c.use, err)
				case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
					t.Errorf("use %d: err = %v, want %q", c.use, err, c.want)
				}
				listed := slices.Contains(Kinds(c.use), tt.kind) || (tt.kind == tee.KindSimulated && slices.Contains(Kinds(c.use), "simulated"))
				if listed != (c.want == "") {
					t.Errorf("use %d: Kinds lists %q: %v, want %v", c.use, tt.kind, listed, c.want == "")
				}
			}
			if tt.issuerRefusal != "" {
				_, err := Issuer(tt.kind, tee.Options{AllowInsecureSimulated: true})
				if err == nil || !strings.Contains(err.Error(), tt.issuerRefusal) {
					t.Errorf("Issuer: err = %v, want %q", err, tt.issuerRefusal)
				}
			}
		})
	}
}

// TestCheckDaemonPolicy: a daemon's policy names a kind allowed for its
// use, and carries no GPU section that no daemon would enforce.
func TestCheckDaemonPolicy(t *testing.T) {
	gpu := nvgpu.Policy{DriverVersions: []string{"550.90.07"}}
	tests := []struct {
		name string
		p    Policy
		use  Use
		want string // "" valid
	}{
		{"simulated runs", Policy{TEE: "simulated"}, Run, ""},
		{"simulated verifies", Policy{TEE: "simulated"}, Verify, ""},
		{"missing", Policy{}, Run, "attestation.tee: missing: expected sev-snp, tdx, sgx, aws-nitro or simulated"},
		{"unknown, with a suggestion", Policy{TEE: "sev_snp"}, Verify, `(did you mean "sev-snp"?)`},
		{"azure-maa cannot run", Policy{TEE: "azure-maa"}, Run, "attestation.tee: azure-maa is verification-only"},
		{"arm-cca cannot run", Policy{TEE: "arm-cca"}, Run, "attestation.tee: arm-cca is verification-only"},
		{"azure-maa verifies (its section is checked)", Policy{TEE: "azure-maa"}, Verify, "attestation: azure-maa"},
		{"nvidia-gpu does not run", Policy{TEE: "nvidia-gpu", NVGPU: gpu}, Run, "attestation.tee: nvidia-gpu is not a CPU TEE"},
		{"nvidia-gpu does not verify a peer", Policy{TEE: "nvidia-gpu", NVGPU: gpu}, Verify, "not a CPU TEE"},
		{"a GPU section next to a CPU TEE is not enforced", Policy{TEE: "simulated", NVGPU: gpu}, Verify, "attestation.nvidia-gpu: confed's daemons do not check GPU evidence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l *yamlcfg.Locator
			err := CheckDaemonPolicy(l, "attestation", tt.p, tt.use)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCheckKindAt: attest_as-style keys accept extra values and name the
// key in every refusal.
func TestCheckKindAt(t *testing.T) {
	src := []byte("attest_as: azure-maa\n")
	var v struct {
		AttestAs string `yaml:"attest_as"`
	}
	l, err := yamlcfg.Decode("p.yaml", src, &v)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckKindAt(l, "attest_as", "none", Run, "none"); err != nil {
		t.Errorf("none: %v", err)
	}
	err = CheckKindAt(l, "attest_as", v.AttestAs, Run, "none")
	if err == nil || !strings.HasPrefix(err.Error(), "p.yaml:1: attest_as: azure-maa is verification-only") {
		t.Errorf("azure-maa: %v", err)
	}
	err = CheckKindAt(l, "attest_as", "tdx2", Run, "none")
	if err == nil || !strings.Contains(err.Error(), "must be none, sev-snp, tdx, sgx, aws-nitro or simulated") {
		t.Errorf("tdx2: %v", err)
	}
}
