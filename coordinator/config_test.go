package coordinator

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/confed/confed/coordinator/dashboard"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/internal/yamlcfg/yamlcfgtest"
)

// writeConfigTestFiles makes dir/conf holding the TLS files, a round
// configuration file and a state directory, writes yaml to
// dir/conf/coordinator.yaml and returns that path and dir/conf.
func writeConfigTestFiles(t *testing.T, yaml string) (path, conf string) {
	t.Helper()
	return yamlcfgtest.WriteConfig(t, "conf", "coordinator.yaml", yaml, "certs/coordinator.pem", "certs/coordinator.key", "certs/ca.pem", "federation.yaml", "state/")
}

const configTestYAML = `database: state/coordinator.db
round_config: federation.yaml
aggregator_address: aggregator.example:7444
tls:
  cert: certs/coordinator.pem
  key: certs/coordinator.key
  ca: certs/ca.pem
`

func TestConfigLoad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(conf string) Config
	}{
		{"relative paths resolve against the file's directory", configTestYAML, func(conf string) Config {
			return Config{
				Listen:            "127.0.0.1:7443",
				Database:          filepath.Join(conf, "state/coordinator.db"),
				RoundConfig:       filepath.Join(conf, "federation.yaml"),
				AggregatorAddress: "aggregator.example:7444",
				TLS: yamlcfg.TLSFiles{
					Cert: filepath.Join(conf, "certs/coordinator.pem"),
					Key:  filepath.Join(conf, "certs/coordinator.key"),
					CA:   filepath.Join(conf, "certs/ca.pem"),
				},
				Log: yamlcfg.LogConfig{Level: "info", Format: "text"},
			}
		}},
		{"every key set", configTestYAML + "listen: \":9443\"\nlog:\n  level: debug\n  format: json\n", func(conf string) Config {
			c := Config{
				Listen: ":9443", Database: filepath.Join(conf, "state/coordinator.db"), RoundConfig: filepath.Join(conf, "federation.yaml"),
				AggregatorAddress: "aggregator.example:7444",
				TLS: yamlcfg.TLSFiles{Cert: filepath.Join(conf, "certs/coordinator.pem"), Key: filepath.Join(conf, "certs/coordinator.key"),
					CA: filepath.Join(conf, "certs/ca.pem")},
				Log: yamlcfg.LogConfig{Level: "debug", Format: "json"},
			}
			return c
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
		{"typo", strings.Replace(configTestYAML, "aggregator_address", "aggregator_addres", 1), []string{
			`:3: aggregator_addres: unknown key (did you mean "aggregator_address"?)`,
		}},
		{"wrong type", configTestYAML + "log: debug\n", []string{`:8: log: expected a mapping of settings, got "debug"`}},
		{"bad address", strings.Replace(configTestYAML, "aggregator.example:7444", "aggregator.example", 1), []string{
			`:3: aggregator_address: expected host:port such as 127.0.0.1:7443, got "aggregator.example"`,
		}},
		{"missing required keys", "listen: 127.0.0.1:7443\n", []string{
			`: database: missing: expected the path of the coordinator's database file`,
			`: round_config: missing: expected the path of the round configuration file`,
			`: aggregator_address: missing: expected host:port such as 127.0.0.1:7443`,
			`: tls.cert: missing: expected the path of this daemon's PEM certificate`,
			`: tls.key: missing: expected the path of this daemon's PEM private key`,
			`: tls.ca: missing: expected the path of the federation's PEM CA certificate`,
		}},
		{"missing TLS file", strings.Replace(configTestYAML, "certs/ca.pem", "certs/root.pem", 1), []string{
			`:7: tls.ca: file "{conf}/certs/root.pem" does not exist`,
		}},
		{"missing round config", strings.Replace(configTestYAML, "federation.yaml", "../federation.yaml", 1), []string{
			`:2: round_config: file "{dir}/federation.yaml" does not exist`,
		}},
		{"database directory missing", strings.Replace(configTestYAML, "state/", "data/", 1), []string{
			`:1: database: cannot create "{conf}/data/coordinator.db": directory "{conf}/data" does not exist`,
		}},
		{"log level", configTestYAML + "log:\n  level: verbose\n", []string{
			`:9: log.level: must be debug, info, warn or error, got "verbose"`,
		}},
		{"empty file", "", []string{`: empty document: expected a mapping of settings such as "key: value"`}},
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

func TestConfigValidateBuiltInCode(t *testing.T) {
	err := Default().Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "database: missing: expected the path of the coordinator's database file\n") {
		t.Errorf("Default().Validate() = %v, want file-less errors starting with database", err)
	}
}

func TestConfigDashboard(t *testing.T) {
	path, conf := writeConfigTestFiles(t, configTestYAML+"dashboard:\n  listen: 127.0.0.1:7450\n  token_file: state/dashboard.token\n")
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &dashboard.Config{Listen: "127.0.0.1:7450", TokenFile: filepath.Join(conf, "state/dashboard.token")}
	if !reflect.DeepEqual(got.Dashboard, want) {
		t.Errorf("dashboard %+v, want %+v", got.Dashboard, want)
	}
	path, _ = writeConfigTestFiles(t, configTestYAML)
	if got, err := Load(path); err != nil || got.Dashboard != nil {
		t.Errorf("without a dashboard section: %+v, %v; want no dashboard", got.Dashboard, err)
	}
}

func TestConfigDashboardErrors(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name, yaml string
		files      map[string]string // extra files under conf
		want       []string
	}{
		{"empty section", "dashboard:\n", nil, []string{`:8: dashboard: expected a mapping of settings, got an empty value`}},
		{"no listen", "dashboard:\n  token_file: t\n", nil, []string{`: dashboard.listen: missing: expected host:port such as 127.0.0.1:7443`}},
		{"bad listen", "dashboard:\n  listen: 7450\n", nil, []string{`:9: dashboard.listen: expected host:port such as 127.0.0.1:7443, got "7450"`}},
		{"typo", "dashboard:\n  listen: :7450\n  tokenfile: t\n", nil, []string{`:10: dashboard.tokenfile: unknown key (did you mean "token_file"?)`}},
		{"both token settings", "dashboard:\n  listen: :7450\n  token_file: t\n  token_sha256_file: h\n", map[string]string{"h": hash},
			[]string{`:10: dashboard.token_file: set either token_sha256_file or token_file, not both`}},
		{"hash file missing", "dashboard:\n  listen: :7450\n  token_sha256_file: h\n", nil,
			[]string{`:10: dashboard.token_sha256_file: file "{conf}/h" does not exist`}},
		{"hash file holds no hash", "dashboard:\n  listen: :7450\n  token_sha256_file: h\n", map[string]string{"h": "secret\n"},
			[]string{`:10: dashboard.token_sha256_file: {conf}/h: expected the token's SHA-256 as 64 hex digits, got 6 characters`}},
		{"token file directory missing", "dashboard:\n  listen: :7450\n  token_file: nowhere/t\n", nil,
			[]string{`:10: dashboard.token_file: cannot create "{conf}/nowhere/t": directory "{conf}/nowhere" does not exist`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, conf := writeConfigTestFiles(t, configTestYAML+tt.yaml)
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(conf, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
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
