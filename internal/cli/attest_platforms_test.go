package cli

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee/nvgpu"
	"github.com/confed/confed/internal/tee/nvgpu/nvgputest"
)

// The real public samples of the packages' testdata (see each README):
// their certificates and tokens are checked as of their own issue time
// (--at), because Nitro certificates and MAA tokens expire within hours.
const (
	nitroSampleAt = "2024-09-07T14:37:39Z"
	maaSampleAt   = "2023-09-26T14:15:47Z"
	nvgpuSampleAt = "2024-06-01T00:00:00Z"
	// CCA tokens carry no time; --at only fixes the claims' time.
	ccaAt = "2026-03-01T12:00:00Z"
)

func readSample(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cliDir, "..", "tee", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cliDir is this package's directory (the tests change directory).
var cliDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd
}()

func hexFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(readSample(t, rel))), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// platformFixture writes the real samples, as the platforms' tools produce
// them (binary documents and tokens, the JWT as text, GPU evidence as
// confed's JSON), and policies accepting them, into a fresh directory.
func platformFixture(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
	nitroDoc, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(readSample(t, "nitro/testdata/nitro_attestation.b64"))))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, "nitro.bin", nitroDoc)
	writeFile(t, "nitro.yaml", []byte("tee: aws-nitro\naws-nitro:\n  pcr0: [e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a]\n"))
	writeFile(t, "maa.jwt", readSample(t, "maa/testdata/sgx_token.jwt"))
	writeFile(t, "maa-keys.json", readSample(t, "maa/testdata/sharedeus_certs.json"))
	writeFile(t, "maa.yaml", []byte(`tee: azure-maa
azure-maa:
  attestation_type: sgx
  issuer: https://sharedeus.eus.attest.azure.net
  key_bundle: maa-keys.json
  binding: report-data
  mrenclaves: [f56735aa42563627a832e0c7ba9911382eb68afed75830b3f97266f3e67bdc99]
  mrsigners: [a595c6c5805da0c9c4cb920334d354aeaee2207e479dff679d5f360375f557dd]
  product_id: 1
`))
	writeFile(t, "cca.cbor", hexFile(t, "cca/testdata/cca_legacy_token.hex"))
	writeFile(t, "cca-iak.pem", readSample(t, "cca/testdata/cca_legacy_iak.pem"))
	writeFile(t, "cca.yaml", []byte("tee: arm-cca\narm-cca:\n  platform_keys: [cca-iak.pem]\n  initial_measurements: ["+strings.Repeat("43", 64)+"]\n"))
	writeFile(t, "gpu.json", readSample(t, "nvgpu/testdata/hopper_evidence.json"))
	writeFile(t, "gpu.yaml", []byte(`tee: nvidia-gpu
nvidia-gpu:
  measurements:
    - index: 2
      values: [8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da338]
    - index: 3
      values: [164f445c3e282ca8e4ab07c2179b8e02c8e3a2ceb83f9fae8dddaee70aa57207d87792d1481b46c02f9dba6e1fe1e77e]
  driver_versions: [550.90.07]
`))
}

func TestAttestGoldenPlatforms(t *testing.T) {
	platformFixture(t)
	// Report data the samples carry: the MAA token's report-data claim,
	// the CCA realm challenge, the GPU request nonce (first 32 bytes).
	maaRD := "94ba44f399b9c4adc830d78c67f4914cbbc3a3838f796d2e7666594754c067d9" + strings.Repeat("00", 32)
	ccaRD := hex.EncodeToString([]byte(strings.Repeat("AB", 32)))
	gpuRD := "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb" + strings.Repeat("00", 32)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"nitro-show", []string{"attest", "show", "nitro.bin"}, 0},
		// The real document verifies up to its binding: its nonce is
		// 1024 bytes of filler, not report data.
		{"nitro-verify-unbound", []string{"attest", "verify", "--policy", "nitro.yaml", "--report-data", maaRD, "--at", nitroSampleAt, "nitro.bin"}, 1},
		{"nitro-verify-expired", []string{"attest", "verify", "--policy", "nitro.yaml", "--report-data", maaRD, "--at", "2025-01-01T00:00:00Z", "nitro.bin"}, 1},
		{"maa-show", []string{"attest", "show", "maa.jwt"}, 0},
		{"maa-verify", []string{"attest", "verify", "--policy", "maa.yaml", "--report-data", maaRD, "--at", maaSampleAt, "maa.jwt"}, 0},
		{"maa-verify-expired", []string{"attest", "verify", "--policy", "maa.yaml", "--report-data", maaRD, "--at", "2023-09-27T00:00:00Z", "maa.jwt"}, 1},
		{"cca-show", []string{"attest", "show", "cca.cbor"}, 0},
		{"cca-verify", []string{"attest", "verify", "--policy", "cca.yaml", "--report-data", ccaRD, "--at", ccaAt, "cca.cbor"}, 0},
		{"cca-verify-unbound", []string{"attest", "verify", "--policy", "cca.yaml", "--report-data", gpuRD, "--at", ccaAt, "cca.cbor"}, 1},
		{"nvgpu-show", []string{"attest", "show", "gpu.json"}, 0},
		{"nvgpu-verify", []string{"attest", "verify", "--policy", "gpu.yaml", "--report-data", gpuRD, "--at", nvgpuSampleAt, "gpu.json"}, 0},
		{"nvgpu-verify-json", []string{"attest", "verify", "--policy", "gpu.yaml", "--at", nvgpuSampleAt, "--format", "json", "gpu.json"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := confed(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			checkGolden(t, tt.name, tt.args, code, stdout, stderr)
		})
	}
}

// Composite: SEV-SNP evidence with an NVIDIA GPU's evidence bound to the
// same report data; both sets of claims are shown together. The GPU's
// chain is under a test root (its evidence is generated, so not golden).
func TestAttestCompositeGPU(t *testing.T) {
	f := newSNPFixture(t)
	now, _ := time.Parse(time.RFC3339, snpAt)
	g, err := nvgputest.NewGPU(now)
	if err != nil {
		t.Fatal(err)
	}
	attestHooks.NVGPU = nvgpu.Options{Roots: []*x509.Certificate{g.Root}}
	var nonce [32]byte
	copy(nonce[:], f.rd[:32])
	ev, _ := nvgpu.Encode(g.Report(nonce, map[int][]byte{1: {1, 2, 3}}, "550.90.07"), g.ChainPEM())
	writeFile(t, "gpu.json", ev)
	var other [32]byte
	bad, _ := nvgpu.Encode(g.Report(other, map[int][]byte{1: {1, 2, 3}}, "550.90.07"), g.ChainPEM())
	writeFile(t, "gpu-other.json", bad)
	pol, _ := os.ReadFile("snp-policy.yaml")
	writeFile(t, "composite.yaml", append(pol, []byte("nvidia-gpu:\n  measurements:\n    - index: 1\n      values: [\"010203\"]\n")...))
	rd := hex.EncodeToString(f.rd[:])
	code, stdout, stderr := confed(t, "attest", "verify", "--policy", "composite.yaml", "--report-data", rd, "--at", snpAt, "--gpu", "gpu.json", "snp.bin")
	if code != 0 || !strings.Contains(stdout, "gpu[0].kind:") || !strings.Contains(stdout, "nvidia-gpu") || !strings.Contains(stdout, "gpu[0].driver_version: ") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = confed(t, "attest", "verify", "--policy", "composite.yaml", "--report-data", rd, "--at", snpAt, "--gpu", "gpu.json", "--gpu", "gpu-other.json", "snp.bin")
	if code != 1 || !strings.Contains(stdout, "GPU evidence: GPU 1: nvidia-gpu: evidence refused") {
		t.Fatalf("unbound GPU: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = confed(t, "attest", "verify", "--policy", "snp-policy.yaml", "--report-data", rd, "--at", snpAt, "--gpu", "gpu.json", "snp.bin")
	if code != 2 || !strings.Contains(stderr, "nvidia-gpu section") {
		t.Fatalf("no nvidia-gpu section: exit %d, stderr %s", code, stderr)
	}
	// GPU evidence is not a CPU TEE's: --gpu next to a policy of tee
	// nvidia-gpu is a usage error.
	writeFile(t, "gpu-only.yaml", []byte("tee: nvidia-gpu\nnvidia-gpu:\n  measurements:\n    - index: 1\n      values: [\"010203\"]\n"))
	code, _, stderr = confed(t, "attest", "verify", "--policy", "gpu-only.yaml", "--report-data", rd, "--at", snpAt, "--gpu", "gpu.json", "gpu.json")
	if code != 2 || !strings.Contains(stderr, "the policy's tee must be the CPU TEE") {
		t.Fatalf("--gpu with a GPU policy: exit %d, stderr %s", code, stderr)
	}
}
