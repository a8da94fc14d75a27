package aggregator

// Hierarchical aggregation (docs/architecture.md, "Hierarchical
// aggregation"). The coordinator gives each aggregator of a tree its role
// with every OPEN (AggregationTask.tree):
//
//   - a leaf collects its shard's updates exactly as a single aggregator
//     does, and at CLOSE sends its partial aggregate (the sum, never a
//     mean) to the root, sealed to the root's attested round key
//     (tree_leaf.go);
//   - the root takes no participant updates; it verifies each leaf's
//     evidence against its aggregator policy, adds the partial sums as they
//     stream in (tree_root.go), and at CLOSE combines them, applies the
//     server optimiser and publishes like a single aggregator, recording
//     the tree in the signed manifest.
//
// The state of the round's tree role lives here, beside the round state,
// so that the rest of the aggregator needs only a few hooks.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// treeHolder holds the tree role of the round being collected, if any, and
// the tree records of the round being published.
type treeHolder struct {
	mu  sync.Mutex
	cur *treeRound
	// records are the manifest's tree records for round recordsRound,
	// set by the root just before it publishes.
	records      []*confedv1.TreeLeafRecord
	recordsRound uint64
}

// treeRound is one round's tree role.
type treeRound struct {
	round uint64
	task  *confedv1.TreeTask
	// shards maps each leaf to its participants (root only).
	shards map[string][]string

	// The root's partials, under treeHolder.mu: receiving marks a leaf whose
	// stream is being read, partials holds those fully added, poisoned is
	// set when a partial failed after part of it was added (the sum is
	// then unusable), combining once the root stops taking partials.
	receiving map[string]bool
	partials  map[string]*leafPartial
	poisoned  error
	combining bool
	changed   chan struct{}
}

// leafPartial is a leaf's partial, added into the root's sum.
type leafPartial struct {
	contributions []*confedv1.Contribution
	record        *confedv1.TreeLeafRecord
}

func (r *treeRound) isRoot() bool {
	return r != nil && r.task.GetRole() == confedv1.TreeRole_TREE_ROLE_ROOT
}

func (r *treeRound) isLeaf() bool {
	return r != nil && r.task.GetRole() == confedv1.TreeRole_TREE_ROLE_LEAF
}

// open sets the tree role of round task t (none when t has no tree).
func (h *treeHolder) open(t *confedv1.AggregationTask) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur = nil
	tt := t.GetTree()
	if tt == nil {
		return
	}
	r := &treeRound{round: t.GetRound(), task: tt, shards: map[string][]string{},
		receiving: map[string]bool{}, partials: map[string]*leafPartial{}, changed: make(chan struct{})}
	for _, l := range tt.GetLeaves() {
		r.shards[l.GetName()] = slices.Clone(l.GetParticipants())
	}
	h.cur = r
}

// role returns the tree role of round r, nil when it has none.
func (h *treeHolder) role(r uint64) *treeRound {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil || h.cur.round != r {
		return nil
	}
	return h.cur
}

// wake signals a change in the root's partials; h.mu is held.
func (r *treeRound) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// handshakeRefused is told of every attested handshake this aggregator
// refused. When it refused a leaf of the round it is root of (its evidence
// failed the aggregator policy), that leaf's partial can never arrive: the
// round is spoiled at once, with the reason, rather than after partialWait.
func (h *treeHolder) handshakeRefused(err error) {
	var re *atls.RefusalError
	if !errors.As(err, &re) || re.ByPeer || re.Peer.Role != pki.RoleAggregator {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.cur
	if _, leaf := r.shardOf(re.Peer.Name); !r.isRoot() || !leaf || r.combining || r.poisoned != nil {
		return
	}
	r.poisoned = fmt.Errorf("the root aggregator refused leaf %q: %s", re.Peer.Name, re.Reason)
	r.wake()
}

// shardOf returns a leaf's shard (root only).
func (r *treeRound) shardOf(leaf string) ([]string, bool) {
	if r == nil {
		return nil, false
	}
	s, ok := r.shards[leaf]
	return s, ok
}

// manifestRecords returns the tree records of round r, for its manifest
// (nil when the round had no tree).
func (h *treeHolder) manifestRecords(r uint64) []*confedv1.TreeLeafRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.recordsRound != r {
		return nil
	}
	return h.records
}

// closeTree carries out CLOSE for a round with a tree role and reports
// whether it did (done false: the round has none, close it as usual).
func (s *Server) closeTree(ctx context.Context, t *confedv1.AggregationTask, rs *roundState) (bool, error) {
	r := s.tree.role(t.GetRound())
	switch {
	case r.isRoot():
		return true, s.closeRoot(ctx, t, rs, r)
	case r.isLeaf():
		return true, s.closeLeaf(ctx, t, rs, r)
	}
	return false, nil
}

// treeVerify is the handshake verifier of a root's round: the peers are
// leaf aggregators, whose evidence must meet this aggregator's own policy
// (ok false: the round is not a root's, verify as usual).
func (s *Server) treeVerify(ctx context.Context, rs *roundState, ev tee.Evidence, reportData [64]byte) (bool, tee.Claims, error) {
	if rs == nil || !s.tree.role(rs.task.GetRound()).isRoot() {
		return false, tee.Claims{}, nil
	}
	claims, err := s.verifier.Verify(ctx, ev, reportData)
	s.metrics.verified("leaf", ev.Kind, err)
	return true, claims, err
}
