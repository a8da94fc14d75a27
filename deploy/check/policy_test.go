package check

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
)

// parsePolicy parses an attestation policy file as `confed attest verify
// --policy` and the daemons' attestation sections do: strictly (unknown
// keys are errors), then validated for its kind.
func parsePolicy(file string, data []byte) (provider.Policy, error) {
	var p provider.Policy
	loc, err := yamlcfg.Decode(file, data, &p)
	if err != nil {
		return p, err
	}
	if p.TEE == "" {
		return p, loc.Required("tee", "sev-snp, tdx or sgx")
	}
	return p, p.Validate()
}

// TestCommittedPolicies parses every attestation policy file under deploy/
// (files named *attestation-policy*.yaml), and the attestation section of every cloud
// aggregator configuration, which must equal the policy beside it.
func TestCommittedPolicies(t *testing.T) {
	root := filepath.Join(repoRoot(t), "deploy")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || !strings.Contains(d.Name(), "attestation-policy") {
			return err
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		p, err := parsePolicy(path, data)
		if err != nil {
			t.Errorf("%v", err)
			return nil
		}
		if p.Kind() == "simulated" {
			t.Errorf("%s: a committed deployment policy must not accept the simulated TEE", path)
		}
		checkCloudAggregator(t, filepath.Join(filepath.Dir(path), "aggregator.yaml"), p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Fatalf("found %d policy files under deploy/; want at least one per cloud and TEE", n)
	}
}

// checkCloudAggregator decodes the aggregator configuration next to a
// policy, if there is one, strictly into the aggregator's configuration
// type, and requires its attestation section to be that policy.
func checkCloudAggregator(t *testing.T, path string, want provider.Policy) {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := aggregator.Default()
	if _, err := yamlcfg.Decode(path, data, &cfg); err != nil {
		t.Errorf("%v", err)
		return
	}
	if !reflect.DeepEqual(cfg.Attestation, want) {
		t.Errorf("%s: attestation section differs from the policy file beside it", path)
	}
}

func TestParsePolicyRefuses(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"typo", "tee: sev-snp\nsev-snp:\n  measurments: []\n", "measurments"},
		{"short measurement", "tee: sev-snp\nsev-snp:\n  measurements: [abcd]\n", "measurements[0]"},
		{"no tee", "sev-snp:\n  measurements: []\n", "tee"},
		{"tdx without mrtd", "tee: tdx\ntdx: {}\n", "mrtd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePolicy("p.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
