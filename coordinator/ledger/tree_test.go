package ledger_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/coordinator/ledger"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// treeRecord is publishedRecord(round) whose signed manifest records a
// tree of two leaves, copied into the record.
func treeRecord(tb testing.TB, round uint64, parent string) ledger.Record {
	r := publishedRecord(round, parent)
	var m confedv1.ModelManifest
	if err := proto.Unmarshal(r.Manifest, &m); err != nil {
		tb.Fatal(err)
	}
	m.Tree = []*confedv1.TreeLeafRecord{
		{Leaf: "leaf-a", Participants: []string{"hospital-a"}, EvidenceKind: "simulated-insecure", EvidenceSha256: unhex(sum("ev a")),
			Measurement: unhex(sum("measurement")), Insecure: true, PartialSha256: unhex(sum("partial a"))},
		{Leaf: "leaf-b", Participants: []string{"hospital-b"}, EvidenceKind: "simulated-insecure", EvidenceSha256: unhex(sum("ev b")),
			Measurement: unhex(sum("measurement")), Insecure: true, PartialSha256: unhex(sum("partial b"))},
	}
	b, err := proto.Marshal(&m)
	if err != nil {
		tb.Fatal(err)
	}
	r.Manifest, r.Signature = b, ledger.SignManifest(testKey, b)
	r.SignerPublicKey = testKey.Public().(ed25519.PublicKey)
	r.Tree = ledger.TreeOf(&m)
	return r
}

func TestTreeRecords(t *testing.T) {
	recs := validRecords()
	last := len(recs) - 1
	tests := []struct {
		name   string
		change func(*ledger.Record)
		want   string
	}{
		{"tree copied from the manifest", func(*ledger.Record) {}, ""},
		{"record leaves out the tree", func(r *ledger.Record) { r.Tree = nil }, "manifest records 2 tree leaves, record 0"},
		{"record moves a participant", func(r *ledger.Record) { r.Tree[0].Participants = []string{"hospital-b"} }, "manifest tree leaf 0"},
		{"record changes a partial hash", func(r *ledger.Record) { r.Tree[1].PartialSHA256 = sum("other") }, "manifest tree leaf 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := append([]ledger.Record{}, recs...)
			prev := rs[last].ParentSHA256
			rs[last] = treeRecord(t, rs[last].Round, prev)
			tt.change(&rs[last])
			_, err := verifyRecords(t, rs)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want a valid chain, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	failed := failedRecord(9, "x")
	failed.Tree = []ledger.TreeLeaf{{Leaf: "leaf-a"}}
	if _, err := ledger.Next(&build(t, recs...)[last], failed); err == nil || !strings.Contains(err.Error(), "tree on a round failed record") {
		t.Errorf("a failed record with a tree: got %v", err)
	}
}

// TestTreeAbsentKeepsCanonical: a record without a tree does not mention
// one, so records written before trees keep their bytes.
func TestTreeAbsentKeepsCanonical(t *testing.T) {
	b, err := publishedRecord(2, modelHex(1)).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"tree"`) {
		t.Errorf("canonical record without a tree mentions it: %s", b)
	}
}

// verifyRecords chains rs without Next's checks (raw) and verifies them.
func verifyRecords(t *testing.T, rs []ledger.Record) (ledger.Report, error) {
	t.Helper()
	var entries []ledger.Entry
	for _, r := range rs {
		entries = append(entries, raw(t, r))
	}
	return ledger.Verify(relink(t, entries, 0), ledger.VerifyOptions{})
}
