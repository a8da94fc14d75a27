package coordinator

// Hierarchical aggregation (docs/architecture.md, "Hierarchical
// aggregation"): with a tree section in the round configuration, the
// coordinator runs each round with a root aggregator and its leaves. Every
// aggregator of the tree holds a WatchRounds stream; participants get the
// address of their shard's leaf; leaves admit and report their shard's
// updates; the round collects once every aggregator is ready; CLOSE tells
// each leaf its shard's included participants and the root all of them;
// only the root publishes, and its manifest must record the tree.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// coordTree is the round configuration's aggregation tree and the state of
// its aggregators.
type coordTree struct {
	cfg    *roundconfig.Tree
	shards map[string][]string // leaf name -> its participants, sorted
	leafOf map[string]string   // participant -> leaf name
	addr   map[string]string   // leaf name -> address
	order  []string            // leaf names as configured

	leaves map[string]*aggSession // connected leaves
	// ready are the tree's aggregators that announced the round in
	// progress ready.
	ready map[string]bool
}

// newCoordTree returns the tree of rc, nil without one.
func newCoordTree(rc roundconfig.Config) *coordTree {
	if rc.Tree == nil {
		return nil
	}
	t := &coordTree{cfg: rc.Tree, shards: map[string][]string{}, leafOf: map[string]string{}, addr: map[string]string{},
		leaves: map[string]*aggSession{}, ready: map[string]bool{}}
	for i, shard := range rc.Tree.Shards(rc.Participants.Expected) {
		leaf := rc.Tree.Leaves[i]
		t.order = append(t.order, leaf.Name)
		t.shards[leaf.Name] = shard
		t.addr[leaf.Name] = leaf.Address
		for _, p := range shard {
			t.leafOf[p] = leaf.Name
		}
	}
	return t
}

// attachTreeNode registers a tree's leaf (handled true). The root and
// federations without a tree are handled by attachAggregator; any other
// aggregator is refused. e.mu is held.
func (e *engine) attachTreeNode(name string, pub ed25519.PublicKey, claims tee.Claims) (*aggSession, bool, error) {
	t := e.tree
	if t == nil || name == t.cfg.Root.Name {
		return nil, false, nil
	}
	if _, ok := t.shards[name]; !ok {
		return nil, true, fmt.Errorf("aggregator %q is neither the root (%q) nor a leaf of the round configuration's tree", name, t.cfg.Root.Name)
	}
	if t.leaves[name] != nil {
		return nil, true, fmt.Errorf("leaf aggregator %q is already connected", name)
	}
	e.nextID++
	s := &aggSession{id: e.nextID, name: name, pub: pub, claims: claims,
		tasks: make(chan *confedv1.AggregationTask, queueSize), kick: make(chan struct{})}
	t.leaves[name] = s
	e.log.Info("leaf aggregator connected", logging.KeyPeer, name, logging.KeyTEE, claims.Kind, logging.KeyInsecure, claims.Insecure)
	return s, true, nil
}

// detachTreeNode forgets leaf s (handled true) and fails the round in
// progress, which cannot finish without it. e.mu is held.
func (e *engine) detachTreeNode(s *aggSession) bool {
	if !e.isLeaf(s) {
		return false
	}
	delete(e.tree.leaves, s.name)
	if e.stopping {
		return true
	}
	e.log.Warn("leaf aggregator disconnected", logging.KeyPeer, s.name)
	if e.m != nil {
		if effects, err := e.m.Fail(fmt.Sprintf("leaf aggregator %q disconnected during the round", s.name), e.now()); err == nil {
			e.apply(effects)
		}
	}
	return true
}

// isLeaf reports whether s is a connected leaf's session.
func (e *engine) isLeaf(s *aggSession) bool {
	return e.tree != nil && s != nil && e.tree.leaves[s.name] == s
}

// aggSessionNamed returns the session of the connected aggregator called
// name (the root or single aggregator, or a leaf), nil if none. e.mu is
// held.
func (e *engine) aggSessionNamed(name string) *aggSession {
	if e.agg != nil && e.agg.name == name {
		return e.agg
	}
	if e.tree != nil {
		return e.tree.leaves[name]
	}
	return nil
}

// treeConnected reports whether every leaf is connected (always, without a
// tree).
func (e *engine) treeConnected() bool {
	return e.tree == nil || len(e.tree.leaves) == len(e.tree.order)
}

// aggregatorFor is the address participant submits to: its shard's leaf,
// or the aggregator.
func (e *engine) aggregatorFor(participant string) string {
	if e.tree == nil {
		return e.aggAddr
	}
	return e.tree.addr[e.tree.leafOf[participant]]
}

// sendOpen sends OPEN t: to the aggregator, or to the root (which takes no
// participants) and to each leaf (which expects its shard).
func (e *engine) sendOpen(t *confedv1.AggregationTask) {
	if e.tree == nil {
		e.sendAgg(t)
		return
	}
	clear(e.tree.ready)
	root := proto.Clone(t).(*confedv1.AggregationTask)
	root.ExpectedParticipants = nil
	root.Tree = e.rootTask(nil)
	e.sendAgg(root)
	for _, name := range e.tree.order {
		leaf := proto.Clone(t).(*confedv1.AggregationTask)
		leaf.ExpectedParticipants = e.tree.shards[name]
		leaf.Tree = e.leafTask(name)
		e.sendLeaf(name, leaf)
	}
}

// sendClose sends CLOSE with the included participants: to each leaf
// those of its shard, to the root all of them and each leaf's.
func (e *engine) sendClose(round uint64, include []string) {
	t := &confedv1.AggregationTask{Kind: confedv1.AggregationTaskKind_AGGREGATION_TASK_KIND_CLOSE, Round: round,
		Federation: e.rc.Federation, Include: include}
	if e.tree == nil {
		e.sendAgg(t)
		return
	}
	byLeaf := map[string][]string{}
	for _, p := range include {
		byLeaf[e.tree.leafOf[p]] = append(byLeaf[e.tree.leafOf[p]], p)
	}
	for _, name := range e.tree.order {
		leaf := proto.Clone(t).(*confedv1.AggregationTask)
		leaf.Include = byLeaf[name]
		leaf.Tree = e.leafTask(name)
		e.sendLeaf(name, leaf)
	}
	t.Tree = e.rootTask(byLeaf)
	e.sendAgg(t)
}

// sendAbort sends ABORT t to every aggregator of the round.
func (e *engine) sendAbort(t *confedv1.AggregationTask) {
	e.sendAgg(t)
	if e.tree != nil {
		for _, name := range e.tree.order {
			e.sendLeaf(name, t)
		}
	}
}

func (e *engine) rootTask(include map[string][]string) *confedv1.TreeTask {
	tt := &confedv1.TreeTask{Role: confedv1.TreeRole_TREE_ROLE_ROOT}
	for _, name := range e.tree.order {
		tt.Leaves = append(tt.Leaves, &confedv1.TreeLeaf{Name: name, Address: e.tree.addr[name],
			Participants: e.tree.shards[name], Include: include[name]})
	}
	return tt
}

func (e *engine) leafTask(name string) *confedv1.TreeTask {
	return &confedv1.TreeTask{Role: confedv1.TreeRole_TREE_ROLE_LEAF, RootName: e.tree.cfg.Root.Name,
		RootAddress: e.tree.cfg.Root.Address, LeafName: name}
}

func (e *engine) sendLeaf(name string, t *confedv1.AggregationTask) {
	s := e.tree.leaves[name]
	if s == nil {
		return
	}
	if !trySend(s.tasks, s.kick, t) {
		e.log.Error("leaf aggregator task queue full: disconnecting it", logging.KeyPeer, name)
	}
}

// treeRoundReady records that an aggregator of the tree is ready for round
// r; the round collects once all are (handled false: no tree). e.mu is
// held.
func (e *engine) treeRoundReady(s *aggSession, r uint64) (bool, error) {
	if e.tree == nil {
		return false, nil
	}
	if !e.isAggregator(s) && !e.isLeaf(s) {
		return true, fmt.Errorf("not an aggregator of the tree")
	}
	m, err := e.current(r)
	if err != nil {
		return true, err
	}
	e.tree.ready[s.name] = true
	if len(e.tree.ready) < len(e.tree.order)+1 {
		e.log.Info("tree aggregator ready", logging.KeyRound, r, logging.KeyPeer, s.name)
		return true, nil
	}
	effects, err := m.AggregatorReady(e.now())
	if err != nil {
		return true, err
	}
	e.apply(effects)
	return true, nil
}

// checkShard refuses an aggregator of a tree acting for a participant
// outside its shard (the root takes none).
func (e *engine) checkShard(s *aggSession, participant string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.tree == nil:
		return nil
	case e.isAggregator(s):
		return fmt.Errorf("the root aggregator %q takes no participant updates; %q submits to leaf %q", s.name, participant, e.tree.leafOf[participant])
	case e.tree.leafOf[participant] != s.name:
		return fmt.Errorf("participant %q is not in the shard of leaf aggregator %q", participant, s.name)
	}
	return nil
}

// failPrefix names the aggregator that failed a round, for the reason.
func (e *engine) failPrefix(s *aggSession) string {
	if e.isLeaf(s) {
		return fmt.Sprintf("leaf aggregator %q: ", s.name)
	}
	return "aggregator: "
}

// checkTreeManifest requires a tree's manifest to record each leaf that
// aggregated included participants: a configured leaf, once, with
// participants of its shard, evidence and partial hashes, and the
// measurement the leaf attested to on connecting (if still connected);
// together the leaves hold exactly the contributions. Without a tree the
// manifest must record none. e.mu is held.
func (e *engine) checkTreeManifest(mf *confedv1.ModelManifest) error {
	if e.tree == nil {
		if len(mf.GetTree()) > 0 {
			return fmt.Errorf("manifest records %d tree leaves, and the round configuration has no tree", len(mf.GetTree()))
		}
		return nil
	}
	held := map[string]string{}
	for _, l := range mf.GetTree() {
		if err := e.checkTreeLeaf(l, held); err != nil {
			return fmt.Errorf("tree leaf %q: %w", l.GetLeaf(), err)
		}
	}
	if len(held) != len(mf.GetContributions()) {
		return fmt.Errorf("the tree's leaves hold %d participants, the manifest lists %d contributions", len(held), len(mf.GetContributions()))
	}
	for _, c := range mf.GetContributions() {
		if held[c.GetParticipant()] == "" {
			return fmt.Errorf("no leaf of the tree holds the contribution of %q", c.GetParticipant())
		}
	}
	return nil
}

// checkTreeLeaf checks one leaf record; held maps each participant seen so
// far to its leaf.
func (e *engine) checkTreeLeaf(l *confedv1.TreeLeafRecord, held map[string]string) error {
	shard, ok := e.tree.shards[l.GetLeaf()]
	switch {
	case !ok:
		return fmt.Errorf("not a leaf of the round configuration's tree")
	case len(l.GetParticipants()) == 0:
		return fmt.Errorf("holds no participants")
	case len(l.GetEvidenceSha256()) != sha256.Size || len(l.GetPartialSha256()) != sha256.Size || l.GetEvidenceKind() == "":
		return fmt.Errorf("evidence kind, evidence hash or partial hash missing")
	}
	if s := e.tree.leaves[l.GetLeaf()]; s != nil && !bytes.Equal(s.claims.Measurement, l.GetMeasurement()) {
		return fmt.Errorf("measurement %x differs from the %x the leaf attested to on connecting", l.GetMeasurement(), s.claims.Measurement)
	}
	for _, p := range l.GetParticipants() {
		switch {
		case !slices.Contains(shard, p):
			return fmt.Errorf("holds %q, who is not in its shard", p)
		case held[p] != "":
			return fmt.Errorf("holds %q, whom leaf %q holds too", p, held[p])
		}
		held[p] = l.GetLeaf()
	}
	return nil
}
