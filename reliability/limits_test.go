package reliability

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/stream"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// limitsDoc is the one place the limits are documented.
const limitsDoc = "../docs/limits.md"

// docLimits returns the first and last cells of every row of the tables in
// docs/limits.md: the limit and how it is checked.
func docLimits(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(limitsDoc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Limit ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		out[strings.Trim(cells[0], "`")] = cells[len(cells)-1]
	}
	return out
}

// roundConfig is a valid round configuration with edit applied to its
// lines (key: value replacements).
func roundConfig(edits map[string]string) string {
	lines := map[string]string{
		"rounds": "3", "features": "10", "expected": "[a, b, c]", "min": "2",
		"join_timeout": "1m", "aggregator_ready_timeout": "1m", "round_deadline": "1m", "aggregation_timeout": "1m",
		"max_update_bytes": "1GiB", "max_update_norm": "0",
	}
	for k, v := range edits {
		lines[k] = v
	}
	return "federation: limits\nrounds: " + lines["rounds"] + "\nmodel:\n  kind: logistic_regression\n  features: " + lines["features"] +
		"\nparticipants:\n  expected: " + lines["expected"] + "\n  min: " + lines["min"] +
		"\ntiming:\n  join_timeout: " + lines["join_timeout"] + "\n  aggregator_ready_timeout: " + lines["aggregator_ready_timeout"] +
		"\n  round_deadline: " + lines["round_deadline"] + "\n  aggregation_timeout: " + lines["aggregation_timeout"] +
		"\naggregation:\n  max_update_bytes: " + lines["max_update_bytes"] + "\n  max_update_norm: " + lines["max_update_norm"] +
		"\ntee:\n  aggregator: simulated\n"
}

// roundLimit checks that key accepts ok and refuses bad, naming the key.
func roundLimit(key, name, ok, bad string) func(t *testing.T) {
	return func(t *testing.T) {
		if _, err := roundconfig.Parse("limits.yaml", []byte(roundConfig(map[string]string{key: ok}))); err != nil {
			t.Errorf("%s: %s refused: %v", name, ok, err)
		}
		_, err := roundconfig.Parse("limits.yaml", []byte(roundConfig(map[string]string{key: bad})))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %s: got %v, want a refusal naming %s", name, bad, err, name)
		}
	}
}

// aggLimit checks an aggregator key the same way.
func aggLimit(key, ok, bad string) func(t *testing.T) {
	return func(t *testing.T) {
		dir := t.TempDir()
		for _, f := range []string{"c.pem", "c.key", "ca.pem"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		base := "attestation: {tee: simulated}\ncoordinator: 127.0.0.1:7443\ntls: {cert: c.pem, key: c.key, ca: ca.pem}\n"
		path := filepath.Join(dir, "aggregator.yaml")
		parse := func(v string) error {
			if err := os.WriteFile(path, []byte(base+key+": "+v+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := aggregator.Load(path)
			return err
		}
		if err := parse(ok); err != nil {
			t.Errorf("%s: %s refused: %v", key, ok, err)
		}
		if err := parse(bad); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %s: got %v, want a refusal naming %s", key, bad, err, key)
		}
	}
}

// TestDocumentedLimitsEnforced checks each limit docs/limits.md marks as
// checked here, and that the document names no limit this test does not
// know.
func TestDocumentedLimitsEnforced(t *testing.T) {
	checks := map[string]func(*testing.T){
		"model.features":                  roundLimit("features", "model.features", "50000000", "50000001"),
		"rounds":                          roundLimit("rounds", "rounds", "100000", "100001"),
		"participants.min":                roundLimit("min", "participants.min", "3", "4"),
		"max_concurrent_updates":          aggLimit("max_concurrent_updates", "64", "65"),
		"min_updates":                     aggLimit("min_updates", "1", "0"),
		"chunk_size":                      aggLimit("chunk_size", "4MiB", "5MiB"),
		"stream_idle_timeout":             aggLimit("stream_idle_timeout", "1h", "61m"),
		"stream_timeout":                  aggLimit("stream_timeout", "24h", "25h"),
		"max_connections":                 aggLimit("max_connections", "100000", "0"),
		"aggregation.max_update_bytes":    roundLimit("max_update_bytes", "aggregation.max_update_bytes", "44B", "43B"),
		"aggregation.max_update_norm":     roundLimit("max_update_norm", "aggregation.max_update_norm", "0", "-1"),
		"timing.join_timeout":             roundLimit("join_timeout", "timing.join_timeout", "168h", "169h"),
		"timing.aggregator_ready_timeout": roundLimit("aggregator_ready_timeout", "timing.aggregator_ready_timeout", "1h", "61m"),
		"timing.round_deadline":           roundLimit("round_deadline", "timing.round_deadline", "24h", "25h"),
		"timing.aggregation_timeout":      roundLimit("aggregation_timeout", "timing.aggregation_timeout", "24h", "0s"),
		"stream chunk":                    checkStreamChunk,
		"safetensors header":              checkSafetensorsHeader,
		"bbolt file lock":                 checkStoreLock,
	}
	doc := docLimits(t)
	if len(doc) == 0 {
		t.Fatalf("no limits found in %s", limitsDoc)
	}
	for name, how := range doc {
		check, ok := checks[name]
		here := strings.Contains(how, "**here**")
		switch {
		case here && !ok:
			t.Errorf("%s: %q is marked as checked here, but this test has no check for it", limitsDoc, name)
		case !here && ok:
			t.Errorf("%s: %q is checked here but not marked **here**", limitsDoc, name)
		case ok:
			t.Run(name, check)
		}
	}
	for name := range checks {
		if _, ok := doc[name]; !ok {
			t.Errorf("%q is checked here but missing from %s", name, limitsDoc)
		}
	}
}

func checkStreamChunk(t *testing.T) {
	s := stream.NewSequence(16 << 20)
	if _, err := s.Accept(&confedv1.Chunk{Seq: 0, Data: make([]byte, stream.MaxChunkSize)}); err != nil {
		t.Errorf("a chunk of exactly %d bytes refused: %v", stream.MaxChunkSize, err)
	}
	for _, c := range []*confedv1.Chunk{
		{Seq: 1, Data: make([]byte, stream.MaxChunkSize+1)},
		{Seq: 1},
		{Seq: 2, Data: []byte{1}},
		{Seq: 0, Data: []byte{1}},
	} {
		if _, err := s.Accept(c); err == nil {
			t.Errorf("chunk %d of %d bytes accepted after chunk 0", c.GetSeq(), len(c.GetData()))
		}
	}
}

func checkSafetensorsHeader(t *testing.T) {
	n := model.DefaultMaxHeaderBytes + 1
	b := binary.LittleEndian.AppendUint64(nil, uint64(n))
	b = append(b, make([]byte, n)...)
	if _, err := model.DecodeSafetensors(b, model.Limits{}); err == nil {
		t.Errorf("a %d-byte safetensors header was accepted", n)
	}
}

func checkStoreLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	a, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if store.DefaultTimeout != time.Second {
		t.Errorf("store.DefaultTimeout is %s; docs/limits.md says 1 s", store.DefaultTimeout)
	}
	_, err = store.Open(path, store.Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("second open of a locked file: %v, want ErrLocked", err)
	}
}
