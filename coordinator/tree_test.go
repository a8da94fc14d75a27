package coordinator

import (
	"crypto/sha256"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// treeEngine is an engine for a federation of four participants under a
// root and two leaves (round_robin: leaf-a gets a and c, leaf-b b and d),
// with both leaves connected.
func treeEngine(t *testing.T) *engine {
	t.Helper()
	rc, err := roundconfig.Parse("fed.yaml", []byte(`federation: demo
participants:
  expected: [d, c, b, a]
tree:
  root: {name: root, address: "root:1"}
  sharding: round_robin
  leaves:
    - {name: leaf-a, address: "leaf-a:1"}
    - {name: leaf-b, address: "leaf-b:1"}
`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(slog.New(slog.DiscardHandler), time.Now, rc, nil, nil, "single:1")
	for _, name := range []string{"root", "leaf-a", "leaf-b"} {
		claims := tee.Claims{Kind: tee.KindSimulated, Measurement: []byte(name)}
		if _, err := e.attachAggregator(name, nil, claims); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestTreeRouting(t *testing.T) {
	e := treeEngine(t)
	for p, want := range map[string]string{"a": "leaf-a:1", "c": "leaf-a:1", "b": "leaf-b:1", "d": "leaf-b:1"} {
		if got := e.aggregatorFor(p); got != want {
			t.Errorf("participant %s submits to %s, want %s", p, got, want)
		}
	}
	if !e.treeConnected() {
		t.Error("tree not connected with both leaves attached")
	}
	if _, err := e.attachAggregator("stranger", nil, tee.Claims{}); err == nil || !strings.Contains(err.Error(), "neither the root") {
		t.Errorf("an aggregator outside the tree attached: %v", err)
	}
	if _, err := e.attachAggregator("leaf-a", nil, tee.Claims{}); err == nil || !strings.Contains(err.Error(), "already connected") {
		t.Errorf("a second leaf-a attached: %v", err)
	}
	leafA, root := e.tree.leaves["leaf-a"], e.agg
	tests := []struct {
		sess        *aggSession
		participant string
		want        string
	}{
		{leafA, "a", ""},
		{leafA, "b", `participant "b" is not in the shard of leaf aggregator "leaf-a"`},
		{root, "a", `the root aggregator "root" takes no participant updates; "a" submits to leaf "leaf-a"`},
	}
	for _, tt := range tests {
		err := e.checkShard(tt.sess, tt.participant)
		if got := errString(err); got != tt.want {
			t.Errorf("%s acting for %s: got %q, want %q", tt.sess.name, tt.participant, got, tt.want)
		}
	}
	e.detachAggregator(leafA)
	if e.treeConnected() || e.aggSessionNamed("leaf-a") != nil {
		t.Error("leaf-a still counted after it detached")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestTreeOpenAndClose(t *testing.T) {
	e := treeEngine(t)
	e.sendOpen(&confedv1.AggregationTask{Kind: confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_OPEN, Round: 1,
		ExpectedParticipants: []string{"a", "b", "c", "d"}})
	root := <-e.agg.tasks
	if root.GetTree().GetRole() != confedv1.TreeRole_TREE_ROLE_ROOT || len(root.GetExpectedParticipants()) != 0 || len(root.GetTree().GetLeaves()) != 2 {
		t.Errorf("root's OPEN: %v", root)
	}
	leaf := <-e.tree.leaves["leaf-b"].tasks
	if leaf.GetTree().GetRole() != confedv1.TreeRole_TREE_ROLE_LEAF || strings.Join(leaf.GetExpectedParticipants(), ",") != "b,d" ||
		leaf.GetTree().GetRootAddress() != "root:1" || leaf.GetTree().GetLeafName() != "leaf-b" {
		t.Errorf("leaf-b's OPEN: %v", leaf)
	}
	<-e.tree.leaves["leaf-a"].tasks
	e.sendClose(1, []string{"a", "b", "c"})
	root = <-e.agg.tasks
	if strings.Join(root.GetInclude(), ",") != "a,b,c" || strings.Join(root.GetTree().GetLeaves()[0].GetInclude(), ",") != "a,c" {
		t.Errorf("root's CLOSE: %v", root)
	}
	if got := <-e.tree.leaves["leaf-b"].tasks; strings.Join(got.GetInclude(), ",") != "b" {
		t.Errorf("leaf-b's CLOSE includes %v, want [b]", got.GetInclude())
	}
}

func TestTreeManifestCheck(t *testing.T) {
	h := sha256.Sum256([]byte("x"))
	leaf := func(name string, ps ...string) *confedv1.TreeLeafRecord {
		return &confedv1.TreeLeafRecord{Leaf: name, Participants: ps, EvidenceKind: tee.KindSimulated, EvidenceSha256: h[:],
			PartialSha256: h[:], Measurement: []byte(name)}
	}
	contribs := func(ps ...string) []*confedv1.Contribution {
		var out []*confedv1.Contribution
		for _, p := range ps {
			out = append(out, &confedv1.Contribution{Participant: p})
		}
		return out
	}
	tests := []struct {
		name string
		mf   *confedv1.ModelManifest
		want string
	}{
		{"valid", &confedv1.ModelManifest{Tree: []*confedv1.TreeLeafRecord{leaf("leaf-a", "a", "c"), leaf("leaf-b", "b")},
			Contributions: contribs("a", "b", "c")}, ""},
		{"no tree", &confedv1.ModelManifest{Contributions: contribs("a")}, "the tree's leaves hold 0 participants, the manifest lists 1 contributions"},
		{"unknown leaf", &confedv1.ModelManifest{Tree: []*confedv1.TreeLeafRecord{leaf("leaf-z", "a")}, Contributions: contribs("a")},
			`tree leaf "leaf-z": not a leaf of the round configuration's tree`},
		{"outside the shard", &confedv1.ModelManifest{Tree: []*confedv1.TreeLeafRecord{leaf("leaf-a", "b")}, Contributions: contribs("b")},
			`tree leaf "leaf-a": holds "b", who is not in its shard`},
		{"held twice", &confedv1.ModelManifest{Tree: []*confedv1.TreeLeafRecord{leaf("leaf-a", "a"), leaf("leaf-a", "a")}, Contributions: contribs("a")},
			`holds "a", whom leaf "leaf-a" holds too`},
		{"contribution held by none", &confedv1.ModelManifest{Tree: []*confedv1.TreeLeafRecord{leaf("leaf-a", "a")}, Contributions: contribs("c")},
			`no leaf of the tree holds the contribution of "c"`},
		{"other measurement", &confedv1.ModelManifest{Tree: []*confedv1.TreeLeafRecord{{Leaf: "leaf-a", Participants: []string{"a"},
			EvidenceKind: "x", EvidenceSha256: h[:], PartialSha256: h[:], Measurement: []byte("forged")}}, Contributions: contribs("a")},
			"differs from the"},
		{"no partial hash", &confedv1.ModelManifest{Tree: []*confedv1.TreeLeafRecord{{Leaf: "leaf-a", Participants: []string{"a"},
			EvidenceKind: "x", EvidenceSha256: h[:]}}, Contributions: contribs("a")}, "partial hash missing"},
	}
	e := treeEngine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.checkTreeManifest(tt.mf)
			if got := errString(err); (tt.want == "" && got != "") || !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	single := &engine{}
	if err := single.checkTreeManifest(&confedv1.ModelManifest{Tree: []*confedv1.TreeLeafRecord{leaf("leaf-a", "a")}}); err == nil {
		t.Error("a federation without a tree accepted a manifest that records one")
	}
}
