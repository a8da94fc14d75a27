package participant

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/internal/yamlcfg/yamlcfgtest"
)

// writeConfigTestFiles makes dir/hospital holding TLS files and a data
// file, writes yaml to dir/hospital/participant.yaml and returns that path
// and dir/hospital.
func writeConfigTestFiles(t *testing.T, yaml string) (path, conf string) {
	t.Helper()
	return yamlcfgtest.WriteConfig(t, "hospital", "participant.yaml", yaml, "pki/me.pem", "pki/me.key", "pki/ca.pem", "data/cleveland.data")
}

const configTestYAML = `aggregator_attestation: {tee: simulated}
coordinator: coordinator.example:7443
tls:
  cert: pki/me.pem
  key: pki/me.key
  ca: pki/ca.pem
data:
  path: data/cleveland.data
`

func TestConfigLoad(t *testing.T) {
	configTestTLS := func(conf string) yamlcfg.TLSFiles {
		return yamlcfg.TLSFiles{Cert: filepath.Join(conf, "pki/me.pem"), Key: filepath.Join(conf, "pki/me.key"), CA: filepath.Join(conf, "pki/ca.pem")}
	}
	tests := []struct {
		name string
		yaml string
		want func(conf string) Config
	}{
		{"defaults, relative paths", configTestYAML, func(conf string) Config {
			return Config{
				Coordinator:           "coordinator.example:7443",
				TLS:                   configTestTLS(conf),
				Data:                  DataConfig{Format: "uci-heart-disease", Path: filepath.Join(conf, "data/cleveland.data"), TestFraction: 0.34, SplitSeed: 42},
				Trainer:               TrainerConfig{Kind: "builtin-logreg"},
				Reconnect:             ReconnectConfig{Initial: yamlcfg.Duration(500 * time.Millisecond), Max: yamlcfg.Duration(30 * time.Second)},
				Log:                   yamlcfg.LogConfig{Level: "info", Format: "text"},
				AggregatorAttestation: provider.Policy{TEE: "simulated"},
				AttestAs:              "none",
			}
		}},
		{"every key set", configTestYAML + `  format: uci-heart-disease
  test_fraction: 0.2
  split_seed: 7
trainer:
  kind: builtin-logreg
reconnect:
  initial: 1s
  max: 1m
state_dir: state
log:
  level: error
  format: json
`, func(conf string) Config {
			return Config{
				Coordinator:           "coordinator.example:7443",
				TLS:                   configTestTLS(conf),
				Data:                  DataConfig{Format: "uci-heart-disease", Path: filepath.Join(conf, "data/cleveland.data"), TestFraction: 0.2, SplitSeed: 7},
				Trainer:               TrainerConfig{Kind: "builtin-logreg"},
				Reconnect:             ReconnectConfig{Initial: yamlcfg.Duration(time.Second), Max: yamlcfg.Duration(time.Minute)},
				StateDir:              filepath.Join(conf, "state"),
				Log:                   yamlcfg.LogConfig{Level: "error", Format: "json"},
				AggregatorAttestation: provider.Policy{TEE: "simulated"},
				AttestAs:              "none",
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, conf := writeConfigTestFiles(t, tt.yaml)
			got, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got.loc = nil
			if want := tt.want(conf); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestConfigLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each prefixed with the file name; {conf} is its directory
	}{
		{"typo", configTestYAML + "  test_fration: 0.2\n", []string{
			`:9: data.test_fration: unknown key (did you mean "test_fraction"?)`,
		}},
		{"wrong type", configTestYAML + "  split_seed: -1\n", []string{
			`:9: data.split_seed: expected a non-negative integer, got "-1"`,
		}},
		{"fraction out of range", configTestYAML + "  test_fraction: 1\n", []string{
			`:9: data.test_fraction: must be strictly between 0 and 1, got 1`,
		}},
		{"unknown format", configTestYAML + "  format: csv\n", []string{
			`:9: data.format: must be uci-heart-disease, got "csv"`,
		}},
		{"missing data file", strings.Replace(configTestYAML, "cleveland.data", "hungarian.data", 1), []string{
			`:8: data.path: file "{conf}/data/hungarian.data" does not exist`,
		}},
		{"missing data path", strings.Replace(configTestYAML, "  path: data/cleveland.data\n", "  format: uci-heart-disease\n", 1), []string{
			`: data.path: missing: expected the path of this participant's data file`,
		}},
		{"missing TLS file", strings.Replace(configTestYAML, "pki/me.pem", "pki/hospital.pem", 1), []string{
			`:4: tls.cert: file "{conf}/pki/hospital.pem" does not exist`,
		}},
		{"bare-number duration", configTestYAML + "reconnect:\n  initial: 500\n", []string{
			`:10: reconnect.initial: expected a duration such as 30s, got the bare number 500 (add a unit: ms, s, m or h)`,
		}},
		{"negative duration", configTestYAML + "reconnect:\n  initial: -1s\n", []string{
			`:10: reconnect.initial: must be > 0, got -1s`,
		}},
		{"max below initial", configTestYAML + "reconnect:\n  initial: 10s\n  max: 5s\n", []string{
			`:11: reconnect.max: must be at least reconnect.initial (10s), got 5s`,
		}},
		{"initial above default max", configTestYAML + "reconnect:\n  initial: 45s\n", []string{
			`:10: reconnect.initial: must be at most reconnect.max (30s), got 45s`,
		}},
		{"trainer kind", configTestYAML + "trainer:\n  kind: builtin_logreg\n", []string{
			`:10: trainer.kind: must be builtin-logreg or external, got "builtin_logreg" (did you mean "builtin-logreg"?)`,
		}},
		{"state dir is a file", configTestYAML + "state_dir: data/cleveland.data\n", []string{
			`:9: state_dir: "{conf}/data/cleveland.data" is not a directory`,
		}},
		{"state dir parent missing", configTestYAML + "state_dir: var/lib/confed\n", []string{
			`:9: state_dir: cannot create "{conf}/var/lib/confed": directory "{conf}/var/lib" does not exist`,
		}},
		{"everything missing", "log:\n  format: json\n", []string{
			`: coordinator: missing: expected host:port such as 127.0.0.1:7443`,
			`: tls.cert: missing: expected the path of this daemon's PEM certificate`,
			`: tls.key: missing: expected the path of this daemon's PEM private key`,
			`: tls.ca: missing: expected the path of the federation's PEM CA certificate`,
			`: data.path: missing: expected the path of this participant's data file`,
			`: aggregator_attestation.tee: missing: expected sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca or simulated`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, conf := writeConfigTestFiles(t, tt.yaml)
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			want := yamlcfgtest.Errors(path, conf, tt.want)
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
		})
	}
}
