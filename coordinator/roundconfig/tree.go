package roundconfig

import (
	"fmt"
	"slices"

	"github.com/confed/confed/internal/yamlcfg"
)

// Tree is hierarchical aggregation (docs/architecture.md, "Hierarchical
// aggregation"): each leaf aggregator collects the updates of its shard of
// the participants and sends their sum, sealed to the root aggregator, to
// the root, which combines the partial sums and publishes the model. The
// sums compose exactly, so the model is the one a single aggregator would
// publish (bit for bit in fixed point). Absent: one aggregator does it all.
type Tree struct {
	// Root is the aggregator that combines the partials and publishes.
	Root TreeNode `yaml:"root"`
	// Sharding is how participants are split among the leaves: explicit
	// (default: every leaf lists its participants) or round_robin (the
	// expected participants, sorted by name, dealt to the leaves in the
	// order they are listed; leaves then list none).
	Sharding string `yaml:"sharding"`
	// Leaves are the leaf aggregators, at least two.
	Leaves []TreeLeaf `yaml:"leaves"`
}

// TreeNode is one aggregator of the tree.
type TreeNode struct {
	// Name is the aggregator's certificate name.
	Name string `yaml:"name"`
	// Address is the host:port where the aggregator serves (the root: for
	// its leaves; a leaf: for its participants).
	Address string `yaml:"address"`
}

// TreeLeaf is a leaf aggregator and, with explicit sharding, its shard.
type TreeLeaf struct {
	// Name and Address: as TreeNode's.
	Name         string   `yaml:"name"`
	Address      string   `yaml:"address"`
	Participants []string `yaml:"participants"`
}

// Node returns the leaf's name and address.
func (t TreeLeaf) Node() TreeNode { return TreeNode{Name: t.Name, Address: t.Address} }

// Sharding rules.
const (
	ShardExplicit   = "explicit"
	ShardRoundRobin = "round_robin"
)

// minLeaves is the fewest leaves a tree may have: with one, the tree is a
// single aggregator with an extra hop.
const minLeaves = 2

// Shards returns each leaf's participants, sorted, in the order of
// t.Leaves. The config must be valid.
func (t *Tree) Shards(expected []string) [][]string {
	out := make([][]string, len(t.Leaves))
	if t.Sharding == ShardRoundRobin {
		sorted := slices.Sorted(slices.Values(expected))
		for i, p := range sorted {
			out[i%len(out)] = append(out[i%len(out)], p)
		}
		return out
	}
	for i, leaf := range t.Leaves {
		out[i] = slices.Sorted(slices.Values(leaf.Participants))
	}
	return out
}

// validateTree checks the tree section: names and addresses well formed and
// unique, every expected participant in exactly one shard, every shard non
// empty, and an aggregation that partial sums can compute.
func (c Config) validateTree(l *yamlcfg.Locator) error {
	t := c.Tree
	if t == nil {
		return nil
	}
	errs := []error{t.validateNodes(l)}
	if t.Sharding == "" { // the default
		errs = append(errs, t.validateExplicit(l, c.Participants.Expected))
	} else if err := l.OneOf("tree.sharding", t.Sharding, ShardExplicit, ShardRoundRobin); err != nil {
		errs = append(errs, err)
	} else if t.Sharding == ShardRoundRobin {
		errs = append(errs, t.validateRoundRobin(l, c.Participants.Expected))
	} else {
		errs = append(errs, t.validateExplicit(l, c.Participants.Expected))
	}
	errs = append(errs, c.validateTreeAggregation(l))
	return yamlcfg.Join(errs...)
}

// validateNodes checks the root's and the leaves' names and addresses.
func (t *Tree) validateNodes(l *yamlcfg.Locator) error {
	var errs []error
	names := map[string]string{}
	addrs := map[string]string{}
	node := func(key string, n TreeNode) {
		switch {
		case n.Name == "":
			errs = append(errs, l.Required(key+".name", "the aggregator's certificate name"))
		case !nameRE.MatchString(n.Name):
			errs = append(errs, l.Errorf(key+".name", "aggregator names must be %s, got %q", nameRule, n.Name))
		case names[n.Name] != "":
			errs = append(errs, l.Errorf(key+".name", "duplicate aggregator %q (already %s.name)", n.Name, names[n.Name]))
		default:
			names[n.Name] = key
		}
		if err := yamlcfg.CheckAddress(l, key+".address", n.Address, false); err != nil {
			errs = append(errs, err)
		} else if prev := addrs[n.Address]; prev != "" {
			errs = append(errs, l.Errorf(key+".address", "duplicate address %q (already %s.address): every aggregator serves on its own", n.Address, prev))
		} else {
			addrs[n.Address] = key
		}
	}
	node("tree.root", t.Root)
	if len(t.Leaves) < minLeaves {
		errs = append(errs, l.Errorf("tree.leaves", "must list at least %d leaf aggregators, got %d (with one, leave the tree section out)", minLeaves, len(t.Leaves)))
	}
	for i, leaf := range t.Leaves {
		node(fmt.Sprintf("tree.leaves[%d]", i), leaf.Node())
	}
	return yamlcfg.Join(errs...)
}

// validateExplicit requires every expected participant in exactly one
// leaf's list, and nobody else.
func (t *Tree) validateExplicit(l *yamlcfg.Locator, expected []string) error {
	var errs []error
	owner := map[string]string{}
	for i, leaf := range t.Leaves {
		key := fmt.Sprintf("tree.leaves[%d].participants", i)
		if len(leaf.Participants) == 0 {
			errs = append(errs, l.Errorf(key, "leaf %q has no participants: list at least one (or use sharding: %s)", leaf.Name, ShardRoundRobin))
		}
		for j, p := range leaf.Participants {
			item := fmt.Sprintf("%s[%d]", key, j)
			switch {
			case !slices.Contains(expected, p):
				errs = append(errs, l.Errorf(item, "%q is not in participants.expected", p))
			case owner[p] != "":
				errs = append(errs, l.Errorf(item, "participant %q is already in %s: each participant belongs to exactly one leaf", p, owner[p]))
			default:
				owner[p] = key
			}
		}
	}
	for _, p := range expected {
		if owner[p] == "" {
			errs = append(errs, l.Errorf("tree.leaves", "expected participant %q is in no leaf's participants", p))
		}
	}
	return yamlcfg.Join(errs...)
}

// validateRoundRobin requires leaves without lists and enough participants
// for every leaf to get one.
func (t *Tree) validateRoundRobin(l *yamlcfg.Locator, expected []string) error {
	var errs []error
	for i, leaf := range t.Leaves {
		if len(leaf.Participants) > 0 {
			errs = append(errs, l.Errorf(fmt.Sprintf("tree.leaves[%d].participants", i),
				"sharding %s assigns participants itself: remove the list, or use sharding %s", ShardRoundRobin, ShardExplicit))
		}
	}
	if n := len(expected); n > 0 && n < len(t.Leaves) {
		errs = append(errs, l.Errorf("tree.leaves", "%d leaves for %d expected participants: sharding %s would leave a leaf without participants",
			len(t.Leaves), n, ShardRoundRobin))
	}
	return yamlcfg.Join(errs...)
}

// validateTreeAggregation refuses what cannot be computed from partial
// sums.
func (c Config) validateTreeAggregation(l *yamlcfg.Locator) error {
	var errs []error
	if s := c.Aggregation.Strategy; s != StrategyFedAvg && slices.Contains(strategies, s) {
		errs = append(errs, l.Errorf("aggregation.strategy", "%s needs every update at once, and a tree's root sees only each leaf's sum of its shard's updates: use fedavg, or leave the tree section out", s))
	}
	if c.Privacy.Mode == PrivacyCentral {
		errs = append(errs, l.Errorf("privacy.mode", "central DP calibrates the noise on, and adaptive clipping counts, the whole round's updates, which no single aggregator of a tree sees: use local, or leave the tree section out"))
	}
	if c.SecureAggregation.On() {
		errs = append(errs, l.Errorf("secure_aggregation.mode", "secure aggregation unmasks the sum of all participants at one aggregator, which a tree's leaves are not: turn it off, or leave the tree section out"))
	}
	return yamlcfg.Join(errs...)
}
