package roundconfig

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/yamlcfg"
)

// values is c without the fields that record where it came from.
func values(c Config) Config {
	c.Path, c.Raw, c.loc = "", nil, nil
	v := reflect.ValueOf(&c).Elem()
	nilEmptySlices(v)
	return c
}

// nilEmptySlices sets every empty slice in v to nil, so that a config that
// listed "[]" compares equal to one that left the list out.
func nilEmptySlices(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				nilEmptySlices(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		for i := range v.Len() {
			nilEmptySlices(v.Index(i))
		}
	}
}

func TestLoadValid(t *testing.T) {
	minimal := Default()
	minimal.Federation = "demo"
	minimal.Participants = Participants{Expected: []string{"alpha", "beta"}, Min: 2}

	full := Config{
		Federation:   "cancer-registry-2026",
		Rounds:       50,
		Model:        ModelSpec{Kind: "logistic_regression", Features: 30, Init: "normal", Seed: 7},
		Participants: Participants{Expected: []string{"site-a", "site-b", "site-c"}, Min: 2},
		Timing: Timing{
			JoinTimeout:            yamlcfg.Duration(time.Hour),
			AggregatorReadyTimeout: yamlcfg.Duration(90 * time.Second),
			RoundDeadline:          yamlcfg.Duration(10 * time.Minute),
			AggregationTimeout:     yamlcfg.Duration(150 * time.Second),
		},
		Training: Training{LocalEpochs: 3, LearningRate: 0.05, BatchSize: 64, ProximalMu: 0.01, L2: 1e-4, Seed: 99},
		Aggregation: Aggregation{Strategy: "fedavg", MaxUpdateNorm: 10.5, MaxUpdateBytes: 64 * yamlcfg.MiB,
			ServerOptimizer: ServerOptimizer{Name: "fedavg"},
			FixedPoint:      FixedPoint{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000}},
		TEE: TEE{Aggregator: "sev-snp", Participants: "simulated", SEVSNP: snp.Policy{
			Measurements: []string{"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"},
			MinimumTCB:   snp.TCB{Bootloader: 3, SNP: 8, Microcode: 115},
		}},
	}

	tests := []struct {
		file string
		want Config
	}{
		{"testdata/valid/minimal.yaml", minimal},
		{"testdata/valid/full.yaml", full},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Load(tt.file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(values(got), tt.want) {
				t.Errorf("got  %+v\nwant %+v", values(got), tt.want)
			}
			raw, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if got.Path != tt.file || string(got.Raw) != string(raw) {
				t.Errorf("Path %q, Raw %d bytes; want %q and the file's %d bytes", got.Path, len(got.Raw), tt.file, len(raw))
			}
			if got.SHA256() != sha256.Sum256(raw) {
				t.Error("SHA256 is not the hash of the file's bytes")
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate after Load: %v", err)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string // one line per error
	}{
		{"unknown-key.yaml", []string{`:4: participants.region: unknown key (expected one of: expected, min)`}},
		{"typo.yaml", []string{`:7: participants.minimum: unknown key (did you mean "min"?)`}},
		{"wrong-type.yaml", []string{`:3: rounds: expected an integer, got "ten"`}},
		{"impossible-value.yaml", []string{`:12: training.learning_rate: must be > 0, got -0.1`}},
		{"duplicate-participant.yaml", []string{`:6: participants.expected[2]: duplicate participant "cleveland" (already listed as participants.expected[0])`}},
		{"min-greater-than-expected.yaml", []string{`:4: participants.min: must be between 1 and the number of expected participants (2), got 3`}},
		{"negative-duration.yaml", []string{`:5: timing.round_deadline: must be > 0, got -30s`}},
		{"bare-number-duration.yaml", []string{`:5: timing.join_timeout: expected a duration such as 30s, got the bare number 120 (add a unit: ms, s, m or h)`}},
		{"missing-required.yaml", []string{
			`: federation: missing: expected a name such as "heart-disease"`,
			`: participants.expected: missing: expected a list of participant names such as [cleveland, hungary]`,
		}},
		{"empty.yaml", []string{`: empty document: expected a mapping of settings such as "key: value"`}},
		{"two-documents.yaml", []string{`:4: a second YAML document starts here: expected exactly one document (remove the "---" separator)`}},
		{"duplicate-key.yaml", []string{`:5: rounds: duplicate key (first set on line 2)`}},
		{"syntax-error.yaml", []string{`:3: invalid YAML: did not find expected ',' or ']'`}},
		{"empty-list.yaml", []string{`:3: participants.expected: must name at least one participant, got an empty list`}},
		{"robust-too-few-participants.yaml", []string{`:4: aggregation: with participants.min = 1: byzantine: krum needs more than 2·byzantine + 2 = 2 updates, got 1`}},
		{"enum-typo.yaml", []string{
			`:5: tee.aggregator: must be sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca or simulated, got "sev_snp" (did you mean "sev-snp"?)`,
			`:6: tee.participants: must be none, sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca or simulated, got "nothing"`,
		}},
		{"update-too-small.yaml", []string{
			`:7: aggregation.max_update_bytes: must be at least 404B, the size of one update of a model with 100 features and a bias as float32, got 256B`,
		}},
		{"bad-names.yaml", []string{
			`:1: federation: must be lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters, got "Heart Disease"`,
			`:3: participants.expected[0]: participant names must be lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters, got "Cleveland"`,
			`:3: participants.expected[1]: participant names must be lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters, got ""`,
			`:3: participants.expected[2]: participant names must be lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters, got "long_beach"`,
		}},
		{"many-errors.yaml", []string{
			`:2: rounds: must be between 1 and 100000, got 0`,
			`:4: model.kind: must be logistic_regression, got "linear"`,
			`:8: participants.min: must be between 1 and the number of expected participants (2), got 0`,
			`:10: training.local_epochs: must be between 1 and 1000, got 1001`,
			`:11: training.learning_rate: must be at most 10, got 11`,
			`:12: training.batch_size: must be between 1 and 1000000, got 0`,
			`:13: training.proximal_mu: must be >= 0, got -1`,
			`:15: aggregation.strategy: must be fedavg, median, trimmed_mean, krum or multikrum, got "fedavgg" (did you mean "fedavg"?)`,
			`:16: aggregation.max_update_norm: must be >= 0, got -1`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := "testdata/invalid/" + tt.file
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			want := path + strings.Join(tt.want, "\n"+path)
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
			if !reflect.DeepEqual(c, Config{}) {
				t.Errorf("Load returned a partial config with its error: %+v", c)
			}
			if _, ok := errors.AsType[*yamlcfg.FieldError](err); !ok {
				t.Errorf("error holds no *yamlcfg.FieldError")
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "testdata/no-such-file.yaml") {
		t.Errorf("error = %v, want a not-exist error naming the file", err)
	}
}

func TestMinDefaultsToAllExpected(t *testing.T) {
	c, err := Parse("f.yaml", []byte("federation: f\nparticipants:\n  expected: [a, b, c]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Participants.Min != 3 {
		t.Errorf("min = %d, want 3 (all expected)", c.Participants.Min)
	}
	// An explicit 0 is an error, not a request for the default.
	_, err = Parse("f.yaml", []byte("federation: f\nparticipants:\n  expected: [a, b, c]\n  min: 0\n"))
	want := "f.yaml:4: participants.min: must be between 1 and the number of expected participants (3), got 0"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestParseKeepsACopyOfData(t *testing.T) {
	data := []byte("federation: f\nparticipants:\n  expected: [a]\n")
	c, err := Parse("f.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	before := c.SHA256()
	data[0] = 'X'
	if c.SHA256() != before || c.Raw[0] != 'f' {
		t.Error("Config.Raw aliases the caller's buffer")
	}
}

func TestHeartDiseaseDefault(t *testing.T) {
	data := HeartDiseaseDefault()
	c, err := Parse("heart-disease.yaml", data)
	if err != nil {
		t.Fatalf("embedded default does not parse: %v", err)
	}
	// Rounds, timing and training are tuned for the demo; the rest is fixed.
	def := Default()
	if c.Federation != "heart-disease" {
		t.Errorf("federation = %q, want heart-disease", c.Federation)
	}
	want := Participants{Expected: []string{"cleveland", "hungary", "switzerland", "long-beach-va"}, Min: 3}
	if !reflect.DeepEqual(c.Participants, want) {
		t.Errorf("participants = %+v, want %+v", c.Participants, want)
	}
	if c.Model != def.Model || c.Aggregation != def.Aggregation || !reflect.DeepEqual(values(c).TEE, values(def).TEE) {
		t.Errorf("model, aggregation, tee = %+v, %+v, %+v; want the defaults %+v, %+v, %+v",
			c.Model, c.Aggregation, c.TEE, def.Model, def.Aggregation, def.TEE)
	}
	if c.SHA256() != sha256.Sum256(data) {
		t.Error("SHA256 is not the hash of the embedded bytes")
	}
	data[0] ^= 0xff
	if HeartDiseaseDefault()[0] == data[0] {
		t.Error("HeartDiseaseDefault returns a shared buffer")
	}
}

// TestHeartDiseaseDefaultIsExplicit checks that the demo file sets every
// key rather than relying on defaults.
func TestHeartDiseaseDefaultIsExplicit(t *testing.T) {
	loc, err := yamlcfg.Decode("heart-disease.yaml", HeartDiseaseDefault(), new(Config))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range allKeys(reflect.TypeFor[Config](), "") {
		// Policies of TEE kinds the demo does not use stay out of it, and
		// so does the optional aggregation tree.
		if key == "tree" || strings.HasPrefix(key, "tree.") || strings.HasPrefix(key, "tee.sev-snp") || strings.HasPrefix(key, "tee.tdx") || strings.HasPrefix(key, "tee.sgx") || strings.HasPrefix(key, "tee.aws-nitro") || strings.HasPrefix(key, "tee.azure-maa") || strings.HasPrefix(key, "tee.arm-cca") || strings.HasPrefix(key, "tee.participant_policy") ||
			(strings.HasPrefix(key, "aggregation.server_optimizer.") && key != "aggregation.server_optimizer.name") {
			continue
		}
		if !loc.Has(key) {
			t.Errorf("heart-disease.yaml leaves %s to its default", key)
		}
	}
}

// allKeys lists the YAML keys of the leaves of t.
func allKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
			keys = append(keys, allKeys(f.Type, name)...)
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

func TestSHA256(t *testing.T) {
	c := Default()
	c.Federation = "f"
	c.Participants = Participants{Expected: []string{"a", "b"}, Min: 1}
	h := c.SHA256()
	if h != sha256.Sum256(c.Canonical()) {
		t.Error("SHA256 of a config built in code is not the hash of its canonical encoding")
	}
	if c.SHA256() != h {
		t.Error("SHA256 is not deterministic")
	}
	changed := c
	changed.Training.LearningRate = 0.2
	if changed.SHA256() == h {
		t.Error("SHA256 ignores training.learning_rate")
	}
	// The canonical encoding parses back to the same values.
	back, err := Parse("canonical.yaml", c.Canonical())
	if err != nil {
		t.Fatalf("canonical encoding does not parse: %v\n%s", err, c.Canonical())
	}
	if !reflect.DeepEqual(values(back), values(c)) {
		t.Errorf("canonical round trip\n got %+v\nwant %+v", values(back), c)
	}
	// A comment changes the hash of a loaded file: it hashes the bytes.
	a, _ := Parse("a.yaml", []byte("federation: f\nparticipants:\n  expected: [a]\n"))
	b, _ := Parse("b.yaml", []byte("# same values\nfederation: f\nparticipants:\n  expected: [a]\n"))
	if a.SHA256() == b.SHA256() {
		t.Error("SHA256 of two different files is equal")
	}
}
