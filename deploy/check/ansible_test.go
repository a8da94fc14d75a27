package check

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/confed/confed/participant"
)

// renderAnsible renders the participant role's templates with Ansible
// itself (deploy/ansible/tests/render.yml) into a scratch directory.
func renderAnsible(t *testing.T, extraVars string) string {
	t.Helper()
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Fatalf("ansible-playbook is needed (Debian package ansible-core; scripts/deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command("ansible-playbook", "-i", "localhost,", "tests/render.yml", "-e", "render_dir="+dir, "-e", extraVars)
	cmd.Dir = filepath.Join(repoRoot(t), "deploy/ansible")
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCALHOST_WARNING=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rendering the participant role's templates: %v\n%s", err, out)
	}
	return dir
}

const ansibleVars = `{"confed_participant_name": "cleveland", "confed_participant_attest_as": "%s",
 "confed_participant_aggregator_attestation": {"tee": "sev-snp", "sev-snp": {
   "measurements": ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"],
   "minimum_tcb": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}}}}`

// TestAnsibleParticipantConfig parses the configuration the role installs
// with the participant's own parser, with the credentials, data and state
// paths of the host laid out in a scratch directory.
func TestAnsibleParticipantConfig(t *testing.T) {
	for _, attest := range []string{"none", "sev-snp"} {
		t.Run(attest, func(t *testing.T) {
			dir := renderAnsible(t, strings.Replace(ansibleVars, "%s", attest, 1))
			data, err := os.ReadFile(filepath.Join(dir, "participant.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			for _, f := range []string{
				"run/credentials/confed-participant.service/tls.crt",
				"run/credentials/confed-participant.service/tls.key",
				"run/credentials/confed-participant.service/ca.crt",
				"srv/confed/data/local.data",
			} {
				p := filepath.Join(root, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(root, "var/lib/confed-participant"), 0o755); err != nil {
				t.Fatal(err)
			}
			cfgText := string(data)
			for _, prefix := range []string{"/run/credentials/", "/srv/confed/", "/var/lib/confed-participant/"} {
				cfgText = strings.ReplaceAll(cfgText, " "+prefix, " "+root+prefix)
			}
			cfg, err := participant.Parse(filepath.Join(dir, "participant.yaml"), []byte(cfgText))
			if err != nil {
				t.Fatalf("the role's participant.yaml does not parse: %v\n%s", err, data)
			}
			if cfg.AttestAs != attest || cfg.AggregatorAttestation.Kind() != "sev-snp" || cfg.HealthListen != "127.0.0.1:8081" {
				t.Errorf("parsed attest_as %q, policy %q, health_listen %q; want %q, sev-snp, 127.0.0.1:8081",
					cfg.AttestAs, cfg.AggregatorAttestation.Kind(), cfg.HealthListen, attest)
			}
		})
	}
}

// TestAnsibleParticipantUnit checks the rendered unit with
// systemd-analyze verify, and that it keeps its hardening.
func TestAnsibleParticipantUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatalf("systemd-analyze is needed (Debian package systemd; scripts/deps.sh installs it): %v", err)
	}
	dir := renderAnsible(t, strings.Replace(ansibleVars, "%s", "none", 1))
	unitPath := filepath.Join(dir, "confed-participant.service")
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	for _, want := range []string{
		"ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateDevices=yes", "CapabilityBoundingSet=\n",
		"LoadCredential=tls.key:", "User=confed-participant", "SystemCallFilter=@system-service",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "ProtectHome=yes",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", strings.TrimSpace(want))
		}
	}
	verify := func(text string) (string, error) {
		p := filepath.Join(t.TempDir(), "confed-participant.service")
		// The binary is not installed here; verify checks that ExecStart exists.
		text = strings.Replace(text, "ExecStart=/usr/local/bin/confed-participant", "ExecStart=/bin/true", 1)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("systemd-analyze", "verify", p)
		// Without a terminal, systemd would log to the journal instead.
		cmd.Env = append(os.Environ(), "SYSTEMD_LOG_TARGET=console")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := verify(unit); err != nil || strings.Contains(out, "confed-participant.service:") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The verification can fail: a misspelt directive is reported.
	if out, _ := verify(strings.Replace(unit, "ProtectHome=yes", "ProtectHome=yse", 1)); !strings.Contains(out, "protect home value") {
		t.Errorf("systemd-analyze verify did not report a bad ProtectHome value; output:\n%s", out)
	}
}
