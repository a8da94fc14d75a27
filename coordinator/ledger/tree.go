package ledger

import (
	"encoding/hex"
	"fmt"
	"slices"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// TreeLeaf records one leaf aggregator of a round aggregated by a tree
// (hierarchical aggregation): the participants whose updates its partial
// sum held, the evidence it presented to the root (which the root verified
// against its aggregator policy) and the hash of its partial. It copies the
// signed manifest's tree, which [Verify] checks it against.
type TreeLeaf struct {
	Leaf           string   `json:"leaf"`
	Participants   []string `json:"participants"`
	EvidenceKind   string   `json:"evidence_kind"`
	EvidenceSHA256 string   `json:"evidence_sha256"` // lowercase hex
	Measurement    string   `json:"measurement"`     // lowercase hex
	Insecure       bool     `json:"insecure"`
	PartialSHA256  string   `json:"partial_sha256"` // lowercase hex
}

// TreeOf returns the tree records of a manifest (nil when it has none).
func TreeOf(m *confedv1.ModelManifest) []TreeLeaf {
	if len(m.GetTree()) == 0 {
		return nil
	}
	out := make([]TreeLeaf, 0, len(m.GetTree()))
	for _, l := range m.GetTree() {
		out = append(out, TreeLeaf{
			Leaf: l.GetLeaf(), Participants: append([]string{}, l.GetParticipants()...),
			EvidenceKind: l.GetEvidenceKind(), EvidenceSHA256: hex.EncodeToString(l.GetEvidenceSha256()),
			Measurement: hex.EncodeToString(l.GetMeasurement()), Insecure: l.GetInsecure(),
			PartialSHA256: hex.EncodeToString(l.GetPartialSha256()),
		})
	}
	return out
}

// compareTree requires the record's tree to be the signed manifest's.
func compareTree(m *confedv1.ModelManifest, r Record) error {
	want := TreeOf(m)
	if len(want) != len(r.Tree) {
		return fmt.Errorf("manifest records %d tree leaves, record %d", len(want), len(r.Tree))
	}
	for i := range want {
		if !equalTreeLeaf(want[i], r.Tree[i]) {
			return fmt.Errorf("manifest tree leaf %d %+v does not match record %+v", i, want[i], r.Tree[i])
		}
	}
	return nil
}

func equalTreeLeaf(a, b TreeLeaf) bool {
	return a.Leaf == b.Leaf && slices.Equal(a.Participants, b.Participants) && a.EvidenceKind == b.EvidenceKind &&
		a.EvidenceSHA256 == b.EvidenceSHA256 && a.Measurement == b.Measurement && a.Insecure == b.Insecure &&
		a.PartialSHA256 == b.PartialSHA256
}

// checkTree refuses a tree on any record but a published round's.
func checkTree(r Record) error {
	if len(r.Tree) > 0 && (r.Kind != KindRound || r.State != StatePublished) {
		return fmt.Errorf("tree on a %s %s record", r.Kind, r.State)
	}
	return nil
}
