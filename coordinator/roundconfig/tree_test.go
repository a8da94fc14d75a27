package roundconfig

import (
	"reflect"
	"strings"
	"testing"
)

// treeBase is a federation of four participants; each test case appends
// its own tree section (and may replace other lines).
const treeBase = `federation: demo
participants:
  expected: [delta, alpha, gamma, beta]
`

const twoLeaves = `tree:
  root: {name: agg-root, address: "root.example:7444"}
  leaves:
    - name: agg-a
      address: "a.example:7444"
      participants: [alpha, beta]
    - name: agg-b
      address: "b.example:7444"
      participants: [gamma, delta]
`

func TestTreeValidation(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, each with its line; nil: valid
	}{
		{"explicit", twoLeaves, nil},
		{"explicit named", strings.Replace(twoLeaves, "  leaves:", "  sharding: explicit\n  leaves:", 1), nil},
		{"round robin", `tree:
  root: {name: agg-root, address: "root.example:7444"}
  sharding: round_robin
  leaves:
    - {name: agg-a, address: "a.example:7444"}
    - {name: agg-b, address: "b.example:7444"}
    - {name: agg-c, address: "c.example:7444"}
`, nil},
		{"unknown sharding", strings.Replace(twoLeaves, "  leaves:", "  sharding: hash\n  leaves:", 1),
			[]string{`:6: tree.sharding: must be explicit or round_robin, got "hash"`}},
		{"participant in two leaves", strings.Replace(twoLeaves, "[gamma, delta]", "[gamma, delta, alpha]", 1),
			[]string{`:12: tree.leaves[1].participants[2]: participant "alpha" is already in tree.leaves[0].participants: each participant belongs to exactly one leaf`}},
		{"participant in no leaf", strings.Replace(twoLeaves, "[gamma, delta]", "[gamma]", 1),
			[]string{`:6: tree.leaves: expected participant "delta" is in no leaf's participants`}},
		{"unknown participant", strings.Replace(twoLeaves, "[gamma, delta]", "[gamma, delta, omega]", 1),
			[]string{`:12: tree.leaves[1].participants[2]: "omega" is not in participants.expected`}},
		{"empty shard", strings.Replace(strings.Replace(twoLeaves, "[gamma, delta]", "[]", 1), "[alpha, beta]", "[alpha, beta, gamma, delta]", 1),
			[]string{`:12: tree.leaves[1].participants: leaf "agg-b" has no participants: list at least one (or use sharding: round_robin)`}},
		{"one leaf", `tree:
  root: {name: agg-root, address: "root.example:7444"}
  leaves:
    - {name: agg-a, address: "a.example:7444", participants: [alpha, beta, gamma, delta]}
`, []string{`:6: tree.leaves: must list at least 2 leaf aggregators, got 1 (with one, leave the tree section out)`}},
		{"duplicate names", strings.Replace(twoLeaves, "name: agg-b", "name: agg-root", 1),
			[]string{`:10: tree.leaves[1].name: duplicate aggregator "agg-root" (already tree.root.name)`}},
		{"duplicate address", strings.Replace(twoLeaves, "b.example", "a.example", 1),
			[]string{`:11: tree.leaves[1].address: duplicate address "a.example:7444" (already tree.leaves[0].address): every aggregator serves on its own`}},
		{"bad address", strings.Replace(twoLeaves, `"a.example:7444"`, `"a.example"`, 1),
			[]string{`:8: tree.leaves[0].address: expected host:port such as 127.0.0.1:7443, got "a.example"`}},
		{"missing root", strings.Replace(twoLeaves, `  root: {name: agg-root, address: "root.example:7444"}`+"\n", "", 1),
			[]string{"tree.root.name: missing: expected the aggregator's certificate name", "tree.root.address: missing: expected host:port"}},
		{"bad leaf name", strings.Replace(twoLeaves, "name: agg-a", "name: Agg_A", 1),
			[]string{`:7: tree.leaves[0].name: aggregator names must be lowercase letters`}},
		{"round robin with lists", strings.Replace(twoLeaves, "  leaves:", "  sharding: round_robin\n  leaves:", 1),
			[]string{`:10: tree.leaves[0].participants: sharding round_robin assigns participants itself: remove the list, or use sharding explicit`,
				`:13: tree.leaves[1].participants: sharding round_robin assigns`}},
		{"round robin with too many leaves", `tree:
  root: {name: agg-root, address: "root.example:7444"}
  sharding: round_robin
  leaves:
    - {name: l1, address: "l1:1"}
    - {name: l2, address: "l2:1"}
    - {name: l3, address: "l3:1"}
    - {name: l4, address: "l4:1"}
    - {name: l5, address: "l5:1"}
`, []string{`:7: tree.leaves: 5 leaves for 4 expected participants: sharding round_robin would leave a leaf without participants`}},
		{"robust strategy", "aggregation:\n  strategy: median\n" + twoLeaves,
			[]string{`:5: aggregation.strategy: median needs every update at once, and a tree's root sees only each leaf's sum of its shard's updates: use fedavg, or leave the tree section out`}},
		{"krum", "aggregation:\n  strategy: krum\n  byzantine: 0\n" + twoLeaves,
			[]string{`aggregation.strategy: krum needs every update at once`}},
		{"64-bit ring", "aggregation:\n  fixed_point: {enabled: true, bits: 64, clip: 1, scale: 65536, max_weight: 1000}\n" + twoLeaves, nil},
		{"32-bit ring", "aggregation:\n  fixed_point: {enabled: true, bits: 32, clip: 1, scale: 65536, max_weight: 1000}\n" + twoLeaves, nil},
		{"central DP", "privacy:\n  mode: central\n  noise_multiplier: 1\n  clip_norm: 1\n  delta: 1.0e-5\n  epsilon_budget: 10\n" + twoLeaves,
			[]string{`privacy.mode: central DP calibrates the noise on`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("fed.yaml", []byte(treeBase+tt.yaml))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want errors %q, got none", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestTreeShards(t *testing.T) {
	expected := []string{"delta", "alpha", "gamma", "beta", "epsilon"}
	tests := []struct {
		name string
		tree Tree
		want [][]string
	}{
		{"round robin deals sorted names", Tree{Sharding: ShardRoundRobin, Leaves: make([]TreeLeaf, 2)},
			[][]string{{"alpha", "delta", "gamma"}, {"beta", "epsilon"}}},
		{"explicit lists are sorted", Tree{Leaves: []TreeLeaf{{Participants: []string{"gamma", "alpha"}}, {Participants: []string{"epsilon", "delta", "beta"}}}},
			[][]string{{"alpha", "gamma"}, {"beta", "delta", "epsilon"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tree.Shards(expected); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Shards = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTreeAbsentKeepsCanonical checks that a config without a tree encodes
// as before: its hash must not change for federations that predate trees.
func TestTreeAbsentKeepsCanonical(t *testing.T) {
	c := valid()
	if strings.Contains(string(c.Canonical()), "tree") {
		t.Errorf("canonical YAML of a config without a tree mentions it:\n%s", c.Canonical())
	}
}
