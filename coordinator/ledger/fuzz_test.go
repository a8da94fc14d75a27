package ledger_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/confed/confed/coordinator/ledger"
)

// FuzzVerify feeds Verify arbitrary ledgers: records are the lines of data;
// with fixHashes each entry's SHA256 is computed from its bytes so the
// fuzzer gets past the hash check. Verify must never panic, and whatever it
// accepts, Next must rebuild byte for byte.
func FuzzVerify(f *testing.F) {
	var lines [][]byte
	for _, e := range validChain(f) {
		lines = append(lines, e.Canonical)
	}
	valid := bytes.Join(lines, []byte("\n"))
	f.Add(valid, true)
	f.Add(valid, false)
	f.Add(lines[0], true)
	f.Add([]byte(`{"index":0,"kind":"genesis"}`), true)
	f.Add([]byte("{}\n{}"), true)
	f.Add([]byte("null"), true)

	f.Fuzz(func(t *testing.T, data []byte, fixHashes bool) {
		var entries []ledger.Entry
		for i, line := range bytes.Split(data, []byte("\n")) {
			e := ledger.Entry{Index: uint64(i), Canonical: line}
			if fixHashes {
				e.SHA256 = ledger.Hash(line)
			}
			entries = append(entries, e)
		}
		opts := ledger.VerifyOptions{ModelSHA256: func(round uint64) ([32]byte, error) {
			if round%7 == 6 {
				return [32]byte{}, errors.New("missing")
			}
			return modelHash(round), nil
		}}
		rep, err := ledger.Verify(entries, opts)
		if err != nil {
			var ve *ledger.VerifyError
			if !errors.As(err, &ve) || ve.Index >= uint64(len(entries)) {
				t.Fatalf("Verify error %v does not name a record", err)
			}
			return
		}
		if rep.Records != len(entries) {
			t.Fatalf("report counts %d records, ledger has %d", rep.Records, len(entries))
		}
		for i := range entries {
			var prev *ledger.Entry
			if i > 0 {
				prev = &entries[i-1]
			}
			r, err := ledger.Parse(entries[i].Canonical)
			if err != nil {
				t.Fatalf("verified record %d does not parse: %v", i, err)
			}
			e, err := ledger.Next(prev, r)
			if err != nil {
				t.Fatalf("Next refuses verified record %d: %v", i, err)
			}
			if !bytes.Equal(e.Canonical, entries[i].Canonical) {
				t.Fatalf("Next rebuilds record %d differently", i)
			}
		}
	})
}
