package ledger_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

const testFederation = "heart-disease"

var (
	testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// modelHash is the hash of the (pretend) model published in round.
func modelHash(round uint64) [32]byte {
	return sha256.Sum256(fmt.Appendf(nil, "model %d", round))
}

func modelHex(round uint64) string {
	h := modelHash(round)
	return hex.EncodeToString(h[:])
}

func genesisRecord() ledger.Record {
	return ledger.Record{
		Kind:         ledger.KindGenesis,
		Federation:   testFederation,
		ConfigSHA256: sum("config"),
		TEEKind:      "simulated-insecure",
		Insecure:     true,
		Time:         t0,
	}
}

// publishedRecord returns a correctly signed record of a published round.
func publishedRecord(round uint64, parent string) ledger.Record {
	parts := []ledger.Participant{
		{Name: "hospital-a", NumExamples: 303, UpdateSHA256: sum(fmt.Sprint("a", round))},
		{Name: "hospital-b", NumExamples: 123, UpdateSHA256: sum(fmt.Sprint("b", round))},
	}
	m := &confedv1.ModelManifest{
		Federation:   testFederation,
		Round:        round,
		ModelSha256:  unhex(modelHex(round)),
		ModelSize:    1000 + round,
		ParentSha256: unhex(parent),
		ConfigSha256: unhex(sum("config")),
		TeeKind:      "simulated-insecure",
		Insecure:     true,
		CreatedAt:    timestamppb.New(t0),
		Strategy:     "fedavg",
	}
	for _, p := range parts {
		m.Contributions = append(m.Contributions, &confedv1.Contribution{
			Participant: p.Name, NumExamples: p.NumExamples, UpdateSha256: unhex(p.UpdateSHA256),
		})
	}
	manifest, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return ledger.Record{
		Kind:            ledger.KindRound,
		Federation:      testFederation,
		Round:           round,
		State:           ledger.StatePublished,
		ConfigSHA256:    sum("config"),
		Participants:    parts,
		ModelSHA256:     modelHex(round),
		ParentSHA256:    parent,
		ModelSize:       1000 + round,
		Manifest:        manifest,
		Signature:       ledger.SignManifest(testKey, manifest),
		SignerPublicKey: testKey.Public().(ed25519.PublicKey),
		TEEKind:         "simulated-insecure",
		Insecure:        true,
		EvidenceKind:    "simulated-insecure",
		EvidenceSHA256:  sum("evidence"),
		Evidence:        []byte("evidence"),
		Claims:          testClaims(round),
		Time:            t0.Add(time.Duration(round+1) * time.Minute),
	}
}

// testClaims is the claims summary of a published round's evidence.
func testClaims(round uint64) map[string]string {
	return ledger.ClaimsSummary(tee.Claims{
		Kind:        "simulated-insecure",
		Insecure:    true,
		Measurement: unhex(sum("measurement")),
		TCB:         "none (simulated)",
		VerifiedAt:  t0.Add(time.Duration(round+1) * time.Minute),
		Details:     map[string]string{"note": "test"},
	})
}

func failedRecord(round uint64, reason string) ledger.Record {
	return ledger.Record{
		Kind:         ledger.KindRound,
		Federation:   testFederation,
		Round:        round,
		State:        ledger.StateFailed,
		Reason:       reason,
		ConfigSHA256: sum("config"),
		TEEKind:      "simulated-insecure",
		Insecure:     true,
		Time:         t0.Add(time.Duration(round+1) * time.Minute),
	}
}

// validRecords is genesis, round 0 (initial model), failed round 1,
// round 2 and round 3.
func validRecords() []ledger.Record {
	return []ledger.Record{
		genesisRecord(),
		publishedRecord(0, ""),
		failedRecord(1, "too few participants"),
		publishedRecord(2, modelHex(0)),
		publishedRecord(3, modelHex(2)),
	}
}

// build chains records with ledger.Next.
func build(tb testing.TB, recs ...ledger.Record) []ledger.Entry {
	tb.Helper()
	var entries []ledger.Entry
	for i, r := range recs {
		var prev *ledger.Entry
		if i > 0 {
			prev = &entries[i-1]
		}
		e, err := ledger.Next(prev, r)
		if err != nil {
			tb.Fatalf("Next(record %d): %v", i, err)
		}
		entries = append(entries, e)
	}
	return entries
}

func validChain(tb testing.TB) []ledger.Entry {
	return build(tb, validRecords()...)
}

// raw encodes an entry without any validation, as an attacker would.
func raw(tb testing.TB, r ledger.Record) ledger.Entry {
	tb.Helper()
	c, err := r.Canonical()
	if err != nil {
		tb.Fatal(err)
	}
	return ledger.Entry{Index: r.Index, Canonical: c, SHA256: ledger.Hash(c)}
}

// relink renumbers entries from position `from` on and rewrites their prev
// hashes, without validation: an attacker rewriting the tail of the chain.
func relink(tb testing.TB, entries []ledger.Entry, from int) []ledger.Entry {
	tb.Helper()
	out := clone(entries)
	for i := from; i < len(out); i++ {
		r := parse(tb, out[i])
		r.Index = uint64(i)
		r.Prev = ledger.GenesisPrev
		if i > 0 {
			r.Prev = hex.EncodeToString(out[i-1].SHA256[:])
		}
		out[i] = raw(tb, r)
	}
	return out
}

// rewrite applies f to record i, re-encodes it and relinks the rest.
func rewrite(tb testing.TB, entries []ledger.Entry, i int, f func(*ledger.Record)) []ledger.Entry {
	tb.Helper()
	out := clone(entries)
	r := parse(tb, out[i])
	f(&r)
	out[i] = raw(tb, r)
	out[i].Index = uint64(i) // the store's key, which f does not change
	return relink(tb, out, i+1)
}

// rewriteBytes applies f to record i's bytes, rehashes it and relinks the
// rest.
func rewriteBytes(tb testing.TB, entries []ledger.Entry, i int, f func([]byte) []byte) []ledger.Entry {
	tb.Helper()
	out := clone(entries)
	out[i].Canonical = f(out[i].Canonical)
	out[i].SHA256 = ledger.Hash(out[i].Canonical)
	return relink(tb, out, i+1)
}

func parse(tb testing.TB, e ledger.Entry) ledger.Record {
	tb.Helper()
	r, err := ledger.Parse(e.Canonical)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func clone(entries []ledger.Entry) []ledger.Entry {
	out := make([]ledger.Entry, len(entries))
	for i, e := range entries {
		out[i] = ledger.Entry{Index: e.Index, Canonical: bytes.Clone(e.Canonical), SHA256: e.SHA256}
	}
	return out
}

// storedModels recomputes the pretend stored models.
func storedModels(round uint64) ([32]byte, error) { return modelHash(round), nil }
