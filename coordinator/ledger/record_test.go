package ledger_test

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/ledger"
)

func TestCanonicalIsUnique(t *testing.T) {
	a := failedRecord(1, "timeout")
	b := a
	b.Participants, b.Manifest = []ledger.Participant{}, []byte{}
	b.Time = a.Time.In(time.FixedZone("CET", 3600))
	ca, err := a.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, cb) {
		t.Errorf("equivalent records encode differently:\n%s\n%s", ca, cb)
	}
	for _, want := range []string{`"participants":[]`, `"manifest":""`, `"time":"2026-03-01T12:02:00.123456789Z"`} {
		if !bytes.Contains(ca, []byte(want)) {
			t.Errorf("canonical form %s lacks %s", ca, want)
		}
	}
}

func TestCanonicalEvidence(t *testing.T) {
	r := publishedRecord(0, "")
	c, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	// base64 of "evidence"; claims keys in sorted order.
	for _, want := range []string{`"evidence":"ZXZpZGVuY2U="`, `"claims":{"debug":"false","insecure":"true","kind":"simulated-insecure",`} {
		if !bytes.Contains(c, []byte(want)) {
			t.Errorf("canonical form %s lacks %s", c, want)
		}
	}
	r.Evidence, r.Claims = []byte{}, map[string]string{}
	c, err = r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(c, []byte(`"evidence":`)) || bytes.Contains(c, []byte(`"claims"`)) {
		t.Errorf("empty evidence fields are encoded: %s", c)
	}
}

func TestParseRoundTrip(t *testing.T) {
	for i, e := range validChain(t) {
		r, err := ledger.Parse(e.Canonical)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		c, err := r.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c, e.Canonical) {
			t.Errorf("record %d: re-encoding differs", i)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown field", `{"index":0,"bogus":true}`, `unknown field "bogus"`},
		{"trailing data", `{"index":0} {}`, "trailing data"},
		{"wrong type", `{"index":"zero"}`, "cannot unmarshal"},
		{"not JSON", `index=0`, "invalid character"},
		{"empty", ``, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "ledger: parse: ") {
				t.Errorf("Parse(%q) = %v, want error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestNextLinks(t *testing.T) {
	entries := validChain(t)
	for i, e := range entries {
		r := parse(t, e)
		if e.Index != uint64(i) || r.Index != uint64(i) {
			t.Errorf("entry %d: index %d, record index %d", i, e.Index, r.Index)
		}
		wantPrev := ledger.GenesisPrev
		if i > 0 {
			wantPrev = hex.EncodeToString(entries[i-1].SHA256[:])
		}
		if r.Prev != wantPrev {
			t.Errorf("entry %d: prev %s, want %s", i, r.Prev, wantPrev)
		}
		if e.SHA256 != ledger.Hash(e.Canonical) {
			t.Errorf("entry %d: sha256 does not match its bytes", i)
		}
	}
	// Index and Prev supplied by the caller are ignored.
	g := genesisRecord()
	g.Index, g.Prev = 9, sum("x")
	e, err := ledger.Next(nil, g)
	if err != nil || e.Index != 0 || parse(t, e).Prev != ledger.GenesisPrev {
		t.Errorf("Next(nil, genesis with index 9) = %+v, %v", e, err)
	}
}

func TestNextRefuses(t *testing.T) {
	chain := validChain(t)
	last := &chain[len(chain)-1]
	corrupt := clone(chain)[len(chain)-1]
	corrupt.Canonical[10] ^= 1
	tests := []struct {
		name string
		prev *ledger.Entry
		rec  func() ledger.Record
		want string
	}{
		{"round without genesis", nil, func() ledger.Record { return failedRecord(0, "x") }, `the first record must be "genesis"`},
		{"second genesis", last, genesisRecord, `only the first record may be "genesis"`},
		{"round not increasing", last, func() ledger.Record { return failedRecord(3, "x") }, "round 3 does not follow round 3"},
		{"other federation", last, func() ledger.Record {
			r := failedRecord(4, "x")
			r.Federation = "other"
			return r
		}, `federation "other" differs`},
		{"corrupt previous entry", &corrupt, func() ledger.Record { return failedRecord(4, "x") }, "previous entry 4: sha256 does not match"},
		{"bad signature", last, func() ledger.Record {
			r := publishedRecord(4, modelHex(3))
			r.Signature[3] ^= 1
			return r
		}, "record 5 (round 4): manifest signature does not verify"},
		{"manifest mismatch", last, func() ledger.Record {
			r := publishedRecord(4, modelHex(3))
			r.Round = 5
			return r
		}, "manifest round 4 does not match record 5"},
		{"no time", last, func() ledger.Record {
			r := failedRecord(4, "x")
			r.Time = time.Time{}
			return r
		}, "time is missing"},
		{"unknown kind", nil, func() ledger.Record {
			r := genesisRecord()
			r.Kind = "epoch"
			return r
		}, `the first record must be "genesis", not "epoch"`},
		{"genesis with a model", nil, func() ledger.Record {
			r := genesisRecord()
			r.ModelSHA256 = modelHex(0)
			return r
		}, "genesis record carries model fields"},
		{"published without manifest", last, func() ledger.Record {
			r := publishedRecord(4, modelHex(3))
			r.Manifest = nil
			return r
		}, "published round has no manifest"},
		{"malformed participant hash", last, func() ledger.Record {
			r := failedRecord(4, "x")
			r.Participants = []ledger.Participant{{Name: "a", UpdateSHA256: "abc"}}
			return r
		}, `participant 0 ("a"): update_sha256 "abc"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.Next(tt.prev, tt.rec())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "ledger: next: ") {
				t.Errorf("Next = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

// Next accepts exactly what Verify accepts for the same chain.
func TestNextMatchesVerify(t *testing.T) {
	recs := validRecords()
	entries := build(t, recs...)
	for i := range entries {
		if _, err := ledger.Verify(entries[:i+1], ledger.VerifyOptions{}); err != nil {
			t.Fatalf("prefix of %d records: %v", i+1, err)
		}
	}
	if r := parse(t, entries[3]); !reflect.DeepEqual(r.Participants, recs[3].Participants) {
		t.Errorf("participants = %+v, want %+v", r.Participants, recs[3].Participants)
	}
}
