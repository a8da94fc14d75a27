package aggregator

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/internal/yamlcfg/yamlcfgtest"
)

// writeConfigTestFiles makes dir/conf/tls with the TLS files, writes yaml
// to dir/conf/aggregator.yaml and returns that path and dir/conf.
func writeConfigTestFiles(t *testing.T, yaml string) (path, conf string) {
	t.Helper()
	return yamlcfgtest.WriteConfig(t, "conf", "aggregator.yaml", yaml, "tls/aggregator.pem", "tls/aggregator.key", "tls/ca.pem")
}

const configTestYAML = `attestation: {tee: simulated}
coordinator: 127.0.0.1:7443
tls:
  cert: tls/aggregator.pem
  key: tls/aggregator.key
  ca: tls/ca.pem
`

func configTestTLS(conf string) yamlcfg.TLSFiles {
	return yamlcfg.TLSFiles{
		Cert: filepath.Join(conf, "tls/aggregator.pem"),
		Key:  filepath.Join(conf, "tls/aggregator.key"),
		CA:   filepath.Join(conf, "tls/ca.pem"),
	}
}

func TestConfigLoad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(conf string) Config
	}{
		{"defaults, relative TLS paths", configTestYAML, func(conf string) Config {
			return Config{Listen: "127.0.0.1:7444", Coordinator: "127.0.0.1:7443", TLS: configTestTLS(conf),
				MinUpdates: 2, ChunkSize: yamlcfg.MiB, StreamIdleTimeout: defaultStreamIdle, StreamTimeout: defaultStreamTimeout, MaxConnections: defaultMaxConnections, Log: yamlcfg.LogConfig{Level: "info", Format: "text"}, Attestation: provider.Policy{TEE: "simulated"}}
		}},
		{"every key set", configTestYAML + "listen: 0.0.0.0:0\nmax_concurrent_updates: 64\nchunk_size: 4KiB\nlog: {level: warn, format: json}\n",
			func(conf string) Config {
				return Config{Listen: "0.0.0.0:0", Coordinator: "127.0.0.1:7443", TLS: configTestTLS(conf),
					MaxConcurrentUpdates: yamlcfg.FixedInt(64), MinUpdates: 2, ChunkSize: 4 * yamlcfg.KiB, StreamIdleTimeout: defaultStreamIdle, StreamTimeout: defaultStreamTimeout, MaxConnections: defaultMaxConnections, Log: yamlcfg.LogConfig{Level: "warn", Format: "json"}, Attestation: provider.Policy{TEE: "simulated"}}
			}},
		{"staging buffers auto, said explicitly", configTestYAML + "max_concurrent_updates: auto\n", func(conf string) Config {
			c := Default()
			c.Coordinator, c.TLS = "127.0.0.1:7443", configTestTLS(conf)
			c.Attestation = provider.Policy{TEE: "simulated"}
			return c
		}},
		{"fixed stream window", configTestYAML + "stream_window: 64KiB\n", func(conf string) Config {
			c := Default()
			c.Coordinator, c.TLS, c.StreamWindow = "127.0.0.1:7443", configTestTLS(conf), 64*yamlcfg.KiB
			c.Attestation = provider.Policy{TEE: "simulated"}
			return c
		}},
		{"chunk size in bytes", configTestYAML + "chunk_size: 4194304\n", func(conf string) Config {
			c := Default()
			c.Coordinator, c.TLS, c.ChunkSize = "127.0.0.1:7443", configTestTLS(conf), 4*yamlcfg.MiB
			c.Attestation = provider.Policy{TEE: "simulated"}
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
		{"typo", configTestYAML + "max_concurrent_update: 4\n", []string{
			`:7: max_concurrent_update: unknown key (did you mean "max_concurrent_updates"?)`,
		}},
		{"wrong type", configTestYAML + "max_concurrent_updates: many\n", []string{
			`:7: max_concurrent_updates: expected an integer or "auto", got "many"`,
		}},
		{"no staging buffer", configTestYAML + "max_concurrent_updates: 0\n", []string{
			`:7: max_concurrent_updates: must be between 1 and 64, got 0`,
		}},
		{"too many updates", configTestYAML + "max_concurrent_updates: 65\n", []string{
			`:7: max_concurrent_updates: must be between 1 and 64, got 65`,
		}},
		{"stream window too small", configTestYAML + "stream_window: 16KiB\n", []string{
			`:7: stream_window: must be between 64KiB and 16MiB, got 16KiB`,
		}},
		{"chunk too small", configTestYAML + "chunk_size: 1KiB\n", []string{
			`:7: chunk_size: must be between 4KiB and 4MiB, got 1KiB`,
		}},
		{"chunk too large", configTestYAML + "chunk_size: 8MB\n", []string{
			`:7: chunk_size: must be between 4KiB and 4MiB, got 8MB`,
		}},
		{"chunk unit", configTestYAML + "chunk_size: 1mib\n", []string{
			`:7: chunk_size: unknown unit "mib" in "1mib": expected B, kB, MB, GB, TB, KiB, MiB, GiB or TiB`,
		}},
		{"missing coordinator", strings.Replace(configTestYAML, "coordinator: 127.0.0.1:7443\n", "", 1), []string{
			`: coordinator: missing: expected host:port such as 127.0.0.1:7443`,
		}},
		{"missing TLS file", strings.Replace(configTestYAML, "tls/aggregator.key", "tls/agg.key", 1), []string{
			`:5: tls.key: file "{conf}/tls/agg.key" does not exist`,
		}},
		{"unknown TLS key", configTestYAML + "  crt: x.pem\n", []string{
			`:7: tls.crt: unknown key (did you mean "cert"?)`,
		}},
		{"two documents", configTestYAML + "---\n", []string{
			`:7: a second YAML document starts here: expected exactly one document (remove the "---" separator)`,
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

func TestConfigDefaultNeedsCoordinatorAndTLS(t *testing.T) {
	err := Default().Validate()
	want := strings.Join([]string{
		"coordinator: missing: expected host:port such as 127.0.0.1:7443",
		"tls.cert: missing: expected the path of this daemon's PEM certificate",
		"tls.key: missing: expected the path of this daemon's PEM private key",
		"tls.ca: missing: expected the path of the federation's PEM CA certificate",
		"attestation.tee: missing: expected sev-snp, tdx, sgx, aws-nitro or simulated",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("Default().Validate() =\n%v\nwant\n%s", err, want)
	}
}
