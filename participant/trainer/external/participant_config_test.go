package external_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant"
	"github.com/confed/confed/participant/trainer/external"
)

// participantYAML is a participant configuration whose trainer section is
// appended by each case; every file it names is made by writeParticipant.
const participantYAML = `coordinator: coordinator.example:7443
aggregator_attestation: {tee: simulated}
tls: {cert: pki/me.pem, key: pki/me.key, ca: pki/ca.pem}
data:
  path: data/cleveland.data
`

func writeParticipant(t *testing.T, trainerYAML string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	for _, d := range []string{"pki", "data", "bin", "work"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for f, mode := range map[string]os.FileMode{"pki/me.pem": 0o600, "pki/me.key": 0o600, "pki/ca.pem": 0o600,
		"data/cleveland.data": 0o600, "bin/train": 0o755, "bin/readme": 0o644} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	path = filepath.Join(dir, "participant.yaml")
	if err := os.WriteFile(path, []byte(participantYAML+trainerYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// TestParticipantConfigExternal parses trainer sections through the
// participant's strict loader: relative paths resolve against the file,
// and every mistake is reported with its line and key.
func TestParticipantConfigExternal(t *testing.T) {
	path, dir := writeParticipant(t, `trainer:
  kind: external
  external:
    command: bin/train
    args: [--epochs-from-round-json, /abs/script.py]
    timeout: 10m
    env: [PATH, OMP_NUM_THREADS]
    work_dir: work
`)
	c, err := participant.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &external.Config{Command: filepath.Join(dir, "bin/train"), Args: []string{"--epochs-from-round-json", "/abs/script.py"},
		Timeout: yamlcfg.Duration(10 * time.Minute), Env: []string{"PATH", "OMP_NUM_THREADS"}, WorkDir: filepath.Join(dir, "work")}
	if c.Trainer.Kind != "external" || !reflect.DeepEqual(c.Trainer.External, want) {
		t.Errorf("trainer = %+v %+v, want %+v", c.Trainer, c.Trainer.External, want)
	}
}

func TestParticipantConfigExternalErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"kind without section", "trainer:\n  kind: external\n", []string{
			`:7: trainer.kind: kind external needs a trainer.external section (command, timeout, …; see docs/trainers.md)`}},
		{"section without kind", "trainer:\n  external:\n    command: bin/train\n", []string{
			`:7: trainer.external: only allowed with trainer.kind external, got kind builtin-logreg`}},
		{"unknown key", "trainer:\n  kind: external\n  external:\n    command: bin/train\n    timeout: 1m\n    timout: 2m\n", []string{
			`:11: trainer.external.timout: unknown key (did you mean "timeout"?)`}},
		{"not executable", "trainer:\n  kind: external\n  external:\n    command: bin/readme\n    timeout: 1m\n", []string{
			`:9: trainer.external.command: "{dir}/bin/readme" is not executable (mode -rw-r--r--)`}},
		{"missing command and timeout", "trainer:\n  kind: external\n  external:\n    env: [PATH, TMPDIR]\n", []string{
			`trainer.external.command: missing: expected the path of the trainer's executable`,
			`trainer.external.timeout: missing: expected a duration such as 10m`,
			`:9: trainer.external.env[1]: TMPDIR is set by the daemon`}},
		{"bare timeout", "trainer:\n  kind: external\n  external:\n    command: bin/train\n    timeout: 600\n", []string{
			`:10: trainer.external.timeout: expected a duration such as 30s, got the bare number 600`}},
		{"args not a list", "trainer:\n  kind: external\n  external:\n    command: bin/train\n    timeout: 1m\n    args: --x\n", []string{
			`:11: trainer.external.args:`}},
		{"typo in kind", "trainer:\n  kind: externel\n", []string{
			`:7: trainer.kind: must be builtin-logreg or external, got "externel" (did you mean "external"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, dir := writeParticipant(t, tt.yaml)
			_, err := participant.Load(path)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "{dir}", dir)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}
