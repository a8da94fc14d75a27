package check

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cloudScript runs a deploy/cloud script with env and args and returns its
// standard output, standard error and exit code.
func cloudScript(t *testing.T, script string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(t), "deploy/cloud", script)}, args...)...)
	// A clean environment: no real credentials or settings leak in.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestCloudScriptsDryRun runs every cloud script without --apply: each
// must print the commands with the flags that make the VM confidential,
// and run nothing (the clouds' CLIs are not even installed here).
func TestCloudScriptsDryRun(t *testing.T) {
	for _, tt := range []struct {
		script string
		env    []string
		want   []string
	}{
		{"aws/create-vm.sh", []string{"AWS_REGION=us-east-2", "AMI_ID=ami-1", "SUBNET_ID=subnet-1", "VPC_ID=vpc-1", "KEY_NAME=k", "ALLOWED_CIDR=192.0.2.0/24"},
			[]string{"aws ec2 run-instances", "--cpu-options AmdSevSnp=enabled", "--instance-type m6a.large", "--port 7444 --cidr 192.0.2.0/24"}},
		{"aws/measure.sh", []string{"OVMF=ovmf_img.fd", "VCPUS=4"},
			[]string{"sev-snp-measure --mode snp --vmm-type ec2 --vcpus 4"}},
		{"gcp/create-vm.sh", []string{"PROJECT=p", "ZONE=us-central1-a", "ALLOWED_CIDR=192.0.2.0/24"},
			[]string{"--confidential-compute-type SEV_SNP", "--min-cpu-platform AMD\\ Milan", "--machine-type n2d-standard-4", "--maintenance-policy TERMINATE"}},
		{"gcp/create-vm.sh", []string{"PROJECT=p", "ZONE=us-central1-a", "ALLOWED_CIDR=192.0.2.0/24", "TEE=tdx"},
			[]string{"--confidential-compute-type TDX", "--machine-type c3-standard-4"}},
		{"gcp/measure.sh", []string{"MEASUREMENT=abcd"},
			[]string{"gs://gce_tcb_integrity/ovmf_x64_csm/sevsnp/abcd.binarypb"}},
		{"azure/create-vm.sh", []string{"RESOURCE_GROUP=rg", "LOCATION=westeurope", "ADMIN_USER=u", "SSH_KEY=k.pub"},
			[]string{"az vm create", "--security-type ConfidentialVM", "--os-disk-security-encryption-type VMGuestStateOnly", "--size Standard_DC4as_v5", "--enable-vtpm true"}},
	} {
		t.Run(tt.script+" "+strings.Join(tt.env[len(tt.env)-1:], ""), func(t *testing.T) {
			out, errOut, code := cloudScript(t, tt.script, tt.env)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			if !strings.Contains(errOut, "DRY RUN") {
				t.Errorf("stderr does not say DRY RUN:\n%s", errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestCloudScriptsRefuse(t *testing.T) {
	for _, tt := range []struct {
		script string
		env    []string
		args   []string
		want   string
	}{
		{"aws/create-vm.sh", nil, nil, "set AWS_REGION"},
		{"aws/create-vm.sh", []string{"AWS_REGION=r", "AMI_ID=a", "SUBNET_ID=s", "VPC_ID=v", "KEY_NAME=k", "ALLOWED_CIDR=c", "INSTANCE_TYPE=m5.large"}, nil, "only on M6a, C6a and R6a"},
		{"gcp/create-vm.sh", []string{"PROJECT=p", "ZONE=z", "ALLOWED_CIDR=c", "TEE=sgx"}, nil, "TEE must be snp or tdx"},
		{"azure/create-vm.sh", []string{"RESOURCE_GROUP=rg", "LOCATION=l", "ADMIN_USER=u", "SSH_KEY=k", "SIZE=Standard_D4s_v5"}, nil, "DCasv5 or ECasv5"},
		{"gcp/create-vm.sh", nil, []string{"--yes"}, "unknown argument: --yes"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			_, errOut, code := cloudScript(t, tt.script, tt.env, tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

// TestShellScripts runs shellcheck over every deployment script.
func TestShellScripts(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatalf("shellcheck is needed (Debian package shellcheck; scripts/deps.sh installs it): %v", err)
	}
	root := repoRoot(t)
	var files []string
	for _, g := range []string{"deploy/cloud/*.sh", "deploy/cloud/*/*.sh", "deploy/ansible/*.sh", "scripts/reproducible*.sh"} {
		m, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 7 {
		t.Fatalf("found only %d scripts: %v", len(files), files)
	}
	cmd := exec.Command("shellcheck", append([]string{"-x", "-s", "bash"}, files...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
