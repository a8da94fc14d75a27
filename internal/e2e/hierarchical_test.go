package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/tee/simulated"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Hierarchical aggregation over loopback: a root and two leaf aggregators,
// four synthetic participants split between the leaves, against a single
// aggregator given the same updates. Synthetic updates (rather than the
// hospitals' training) make the comparison exact: the participants'
// fixed-point quantisation draws fresh randomness, which a seeded synthetic
// participant does not.

// treeFeatures is the model size of these tests: 3 × 200 + 1 parameters,
// enough coordinates for float rounding to show.
const treeFeatures = 200

// treeParticipants and their example counts (the FedAvg weights).
var treeParticipants = []string{"p1", "p2", "p3", "p4"}
var treeWeights = map[string]uint64{"p1": 10, "p2": 23, "p3": 31, "p4": 47}

// treeFed is a federation with a root aggregator (f.aggLis, "aggregator")
// and two leaves.
type treeFed struct {
	*fed
	leafLis map[string]net.Listener
}

// treeYAML is the round configuration: two rounds (feature statistics,
// then training), in a fixed-point ring of bits (0: float), with or
// without the tree.
func treeYAML(f *treeFed, bits int, tree bool, measurements ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `federation: e2e
rounds: 2
model:
  kind: logistic_regression
  features: %d
participants:
  expected: [p1, p2, p3, p4]
timing:
  join_timeout: 30s
  aggregator_ready_timeout: 30s
  round_deadline: 30s
  aggregation_timeout: 30s
`, treeFeatures)
	if bits != 0 {
		fmt.Fprintf(&b, "aggregation:\n  fixed_point: {enabled: true, bits: %d, clip: 1, scale: 65536, max_weight: 1000}\n", bits)
	}
	b.WriteString("tee:\n  aggregator: simulated\n")
	if len(measurements) > 0 {
		fmt.Fprintf(&b, "  simulated:\n    measurements: [%s]\n", strings.Join(measurements, ", "))
	}
	if tree {
		fmt.Fprintf(&b, `tree:
  root: {name: aggregator, address: "%s"}
  leaves:
    - {name: leaf-a, address: "%s", participants: [p1, p2]}
    - {name: leaf-b, address: "%s", participants: [p3, p4]}
`, f.aggAddr, f.leafLis["leaf-a"].Addr(), f.leafLis["leaf-b"].Addr())
	}
	return b.String()
}

func newTreeFed(t *testing.T, yaml func(*treeFed) string) *treeFed {
	f := &treeFed{leafLis: map[string]net.Listener{"leaf-a": listen(t), "leaf-b": listen(t)}}
	f.fed = newFed(t, nil, "placeholder")
	if err := os.WriteFile(f.roundConfig, []byte(yaml(f)), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// startAgg runs an aggregator named name on lis, with the given policy and
// (if set) a simulated issuer of a chosen measurement.
func (f *treeFed) startAgg(ctx context.Context, name string, lis net.Listener, policy provider.Policy, issuer tee.Issuer) {
	cfg := aggregator.Default()
	cfg.Attestation = policy
	cfg.Listen = lis.Addr().String()
	cfg.Coordinator = f.coordAddr
	cfg.MinUpdates = 2
	cfg.TLS = f.issue(pki.RoleAggregator, name, "127.0.0.1")
	f.run(func() error {
		return aggregator.Run(ctx, cfg, aggregator.Options{InsecureSimulatedTEE: true, Listener: lis, Issuer: issuer,
			Logger: testLogger(f.t, name)})
	})
}

// syntheticUpdate is participant name's update of round r: in the
// feature-statistics round (from the initial model, always float32) dyadic
// values whose weighted sums are exact in float64, so that the round is bit
// for bit the same however it is summed; later, seeded pseudo-random values
// (zero on the statistics), quantised when fixed.
func syntheticUpdate(t *testing.T, spec model.Spec, name string, r uint64, stats bool, fp *confedv1.FixedPoint) []byte {
	t.Helper()
	flat := make([]float32, spec.NumParams())
	k := int(name[1] - '0')
	isStat := statRanges(spec)
	rng := rand.New(rand.NewPCG(uint64(k), r))
	for i := range flat {
		if stats {
			flat[i] = float32((i*7+k*13)%17+1) / 64
		} else if !isStat(i) {
			flat[i] = float32(rng.Float64() - 0.5)
		}
	}
	if stats || fp == nil {
		m, err := model.FromFlat(spec, flat)
		if err != nil {
			t.Fatal(err)
		}
		return model.EncodeSafetensors(m)
	}
	p := fixedpoint.FromWire(fp.GetBits(), fp.GetClip(), fp.GetScale(), fp.GetMaxWeight(), fp.GetMaxParticipants())
	var seed [32]byte
	seed[0] = byte(k)
	dtype, data := model.U32, []byte(nil)
	if p.Bits == 64 {
		q := make([]uint64, len(flat))
		if err := fixedpoint.Quantise64(q, flat, treeWeights[name], p, rand.NewChaCha8(seed)); err != nil {
			t.Fatal(err)
		}
		dtype, data = model.U64, fixedpoint.Encode64(q)
	} else {
		q := make([]uint32, len(flat))
		if err := fixedpoint.Quantise32(q, flat, treeWeights[name], p, rand.NewChaCha8(seed)); err != nil {
			t.Fatal(err)
		}
		data = fixedpoint.Encode32(q)
	}
	var buf bytes.Buffer
	if _, err := model.WriteRawSafetensors(&buf, spec, dtype, data); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// statRanges reports whether a flat index is a feature statistic.
func statRanges(spec model.Spec) func(int) bool {
	var lo, hi []int
	off := 0
	for _, ts := range spec {
		n := 1
		for _, d := range ts.Shape {
			n *= d
		}
		if ts.Name == model.TensorInputMean || ts.Name == model.TensorInputSqMean {
			lo, hi = append(lo, off), append(hi, off+n)
		}
		off += n
	}
	return func(i int) bool {
		for j := range lo {
			if i >= lo[j] && i < hi[j] {
				return true
			}
		}
		return false
	}
}

// runSynthetic runs participant name: it watches for tasks and submits its
// synthetic update to the aggregator each task names, until FINISHED.
func (f *treeFed) runSynthetic(ctx context.Context, t *testing.T, name string, spec model.Spec) error {
	fc := confedv1.NewFederationClient(f.dialAs(t, pki.RoleParticipant, name, f.coordAddr, pki.RoleCoordinator))
	if _, err := fc.Join(ctx, &confedv1.JoinRequest{}); err != nil {
		return err
	}
	tasks, err := fc.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
	if err != nil {
		return err
	}
	done := map[uint64]bool{}
	for {
		task, err := tasks.Recv()
		if err != nil {
			return err
		}
		if task.GetKind() == confedv1.TaskKind_TASK_KIND_FINISHED {
			return nil
		}
		if done[task.GetRound()] {
			continue
		}
		done[task.GetRound()] = true
		enc := syntheticUpdate(t, spec, name, task.GetRound(), task.GetGlobalRound() == 0, task.GetParams().GetFixedPoint())
		u := rawUpload(task.GetRound(), task.GetGlobalModelSha256(), enc, uint64(len(enc)), 4096)
		u.header.NumExamples = treeWeights[name]
		ac := confedv1.NewAggregatorClient(f.dialAs(t, pki.RoleParticipant, name, task.GetAggregatorAddress(), pki.RoleAggregator))
		resp, err := u.send(ctx, ac, name)
		if err != nil {
			return fmt.Errorf("%s: round %d: %w", name, task.GetRound(), err)
		}
		if !resp.GetAccepted() {
			return fmt.Errorf("%s: round %d: update refused: %s", name, task.GetRound(), resp.GetReason())
		}
	}
}

// startSynthetic runs every synthetic participant; the returned function
// waits for them all to finish and reports the first error.
func (f *treeFed) startSynthetic(ctx context.Context, t *testing.T) func() error {
	spec := treeSpec(t)
	for _, name := range treeParticipants {
		f.issue(pki.RoleParticipant, name) // before the goroutines: issue is not safe for concurrent use
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(treeParticipants))
	for _, name := range treeParticipants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.runSynthetic(ctx, t, name, spec); err != nil {
				errs <- err
			}
		}()
	}
	return func() error {
		wg.Wait()
		close(errs)
		return <-errs
	}
}

func treeSpec(t *testing.T) model.Spec {
	t.Helper()
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: treeFeatures, Init: model.InitZeros})
	if err != nil {
		t.Fatal(err)
	}
	return m.Spec()
}

// published is what a run published: each round's model and the ledger.
type treeRun struct {
	models  map[uint64]*confedv1.ModelManifest
	flat    map[uint64][]float32
	ledger  []ledger.Record
	entries []ledger.Entry
}

// runTree runs a federation to its end and returns what it published.
func runTree(t *testing.T, bits int, tree bool) treeRun {
	f := newTreeFed(t, func(f *treeFed) string { return treeYAML(f, bits, tree) })
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	f.startCoordinator(ctx, f.coordLis)
	policy := provider.Policy{TEE: "simulated"}
	f.startAgg(ctx, "aggregator", f.aggLis, policy, nil)
	if tree {
		for name, lis := range f.leafLis {
			f.startAgg(ctx, name, lis, policy, nil)
		}
	}
	wait := f.startSynthetic(ctx, t)
	finished := make(chan error, 1)
	go func() { finished <- wait() }()
	select {
	case err := <-finished:
		if err != nil {
			t.Fatal(err)
		}
	case err := <-f.errs:
		t.Fatalf("daemon failed: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("federation did not finish within 2m")
	}
	return collect(t, f.fed)
}

// collect downloads every published model and parses the ledger.
func collect(t *testing.T, f *fed) treeRun {
	op := f.operator(t)
	out := treeRun{models: map[uint64]*confedv1.ModelManifest{}, flat: map[uint64][]float32{}, entries: f.ledgerEntries(t, op)}
	if _, err := ledger.Verify(out.entries, ledger.VerifyOptions{}); err != nil {
		t.Fatalf("ledger does not verify: %v", err)
	}
	fc := confedv1.NewFederationClient(f.dialAs(t, pki.RoleParticipant, "p1", f.coordAddr, pki.RoleCoordinator))
	for _, e := range out.entries {
		rec, err := ledger.Parse(e.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		out.ledger = append(out.ledger, rec)
		if rec.State != ledger.StatePublished {
			continue
		}
		sha, _ := hex.DecodeString(rec.ModelSHA256)
		d, err := fetchModel(context.Background(), fc, rec.Round, sha, treeSpec(t))
		if err != nil {
			t.Fatalf("round %d: %v", rec.Round, err)
		}
		out.models[rec.Round], out.flat[rec.Round] = d.Verified.Manifest, d.Model.Flat()
	}
	return out
}

// ulp32 is the distance from |v| to the next float32.
func ulp32(v float32) float64 {
	a := float32(math.Abs(float64(v)))
	return float64(math.Nextafter32(a, float32(math.Inf(1))) - a)
}

// TestHierarchicalMatchesSingleAggregator runs the same synthetic updates
// through one aggregator and through a root with two leaves. In fixed point
// (32- and 64-bit rings) the published models are identical, bit for bit,
// in every round. In float
// mode round 1 (exact dyadic sums) is identical and round 2 agrees within
// one float32 ulp per parameter: the root adds the leaves' float64 sums,
// (Σ_a) + (Σ_b), where one aggregator adds the four weighted updates in
// arrival order, so the float64 sums may differ in their last bits, which
// can move a parameter to the adjacent float32.
func TestHierarchicalMatchesSingleAggregator(t *testing.T) {
	t.Parallel()
	for _, bits := range []int{32, 64, 0} {
		name := map[int]string{32: "fixed32", 64: "fixed64", 0: "float"}[bits]
		fixed := bits != 0
		t.Run(name, func(t *testing.T) {
			single := runTree(t, bits, false)
			tree := runTree(t, bits, true)
			for r := uint64(1); r <= 2; r++ {
				a, b := single.flat[r], tree.flat[r]
				if a == nil || b == nil {
					t.Fatalf("round %d not published (single %v, tree %v)", r, a != nil, b != nil)
				}
				same := bytes.Equal(single.models[r].GetModelSha256(), tree.models[r].GetModelSha256())
				differ, worst := 0, 0.0
				for i := range a {
					if a[i] != b[i] {
						differ++
						worst = max(worst, math.Abs(float64(a[i])-float64(b[i]))/ulp32(max(a[i], b[i], -a[i], -b[i])))
					}
				}
				t.Logf("%s round %d: identical model %v; %d of %d parameters differ, by at most %.0f ulp", name, r, same, differ, len(a), worst)
				if (fixed || r == 1) && !same {
					t.Errorf("round %d: the tree's model %x is not the single aggregator's %x", r, tree.models[r].GetModelSha256(), single.models[r].GetModelSha256())
				}
				if worst > 1 {
					t.Errorf("round %d: parameters differ by up to %.0f float32 ulp, want at most 1", r, worst)
				}
			}
			checkTreeRecords(t, tree)
			if len(single.models[2].GetTree()) != 0 {
				t.Error("a single aggregator's manifest records a tree")
			}
		})
	}
}

// checkTreeRecords checks that the tree's manifests and ledger records
// name which leaf aggregated whom, with the leaves' evidence and partials.
func checkTreeRecords(t *testing.T, run treeRun) {
	t.Helper()
	want := map[string]string{"leaf-a": "p1,p2", "leaf-b": "p3,p4"}
	for r := uint64(1); r <= 2; r++ {
		leaves := run.models[r].GetTree()
		if len(leaves) != 2 {
			t.Fatalf("round %d: manifest records %d tree leaves, want 2", r, len(leaves))
		}
		for _, l := range leaves {
			if got := strings.Join(l.GetParticipants(), ","); got != want[l.GetLeaf()] {
				t.Errorf("round %d: leaf %q aggregated %s, want %s", r, l.GetLeaf(), got, want[l.GetLeaf()])
			}
			if l.GetEvidenceKind() != tee.KindSimulated || !l.GetInsecure() || len(l.GetEvidenceSha256()) != sha256.Size ||
				len(l.GetPartialSha256()) != sha256.Size || len(l.GetMeasurement()) != sha256.Size {
				t.Errorf("round %d: leaf %q record incomplete: %v", r, l.GetLeaf(), l)
			}
		}
	}
	for _, rec := range run.ledger {
		if rec.State == ledger.StatePublished && rec.Round > 0 && len(rec.Tree) != 2 {
			t.Errorf("ledger record of round %d holds %d tree leaves, want 2", rec.Round, len(rec.Tree))
		}
	}
}

// TestRootRefusesLeafFailingPolicy runs a tree in which leaf-b's evidence
// carries a measurement that the coordinator's policy allows but the root's
// aggregator policy does not: the root refuses leaf-b's attested connection,
// and the round fails with the reason in its ledger record, reported by
// the root ("the root aggregator refused leaf ...") or by leaf-b ("refused
// by server ..."), whichever tells the coordinator first (or by leaf-a,
// whose partial the root then refuses with that reason).
func TestRootRefusesLeafFailingPolicy(t *testing.T) {
	t.Parallel()
	good, bad := sha256.Sum256([]byte("good aggregator")), sha256.Sum256([]byte("tampered aggregator"))
	hexGood, hexBad := hex.EncodeToString(good[:]), hex.EncodeToString(bad[:])
	f := newTreeFed(t, func(f *treeFed) string { return treeYAML(f, 32, true, hexGood, hexBad) })
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	issuer := func(m [32]byte) tee.Issuer {
		is, err := simulated.NewIssuerWithMeasurement(tee.Options{AllowInsecureSimulated: true}, m)
		if err != nil {
			t.Fatal(err)
		}
		return is
	}
	strict := provider.Policy{TEE: "simulated", Simulated: provider.SimulatedPolicy{Measurements: []string{hexGood}}}
	lax := provider.Policy{TEE: "simulated", Simulated: provider.SimulatedPolicy{Measurements: []string{hexGood, hexBad}}}
	f.startCoordinator(ctx, f.coordLis)
	f.startAgg(ctx, "aggregator", f.aggLis, strict, issuer(good))
	f.startAgg(ctx, "leaf-a", f.leafLis["leaf-a"], strict, issuer(good))
	f.startAgg(ctx, "leaf-b", f.leafLis["leaf-b"], lax, issuer(bad))
	op := f.operator(t)
	f.startSynthetic(ctx, t)
	var reason string
	eventually(t, time.Minute, "round 1 fails", func() (bool, string) {
		st, saw := roundOf(ctx, op, 1)
		reason = st.GetReason()
		return st.GetState() == confedv1.RoundState_ROUND_STATE_FAILED, saw
	})
	byRoot := strings.Contains(reason, `the root aggregator refused leaf "leaf-b": attestation refused: `)
	byLeaf := strings.HasPrefix(reason, `leaf aggregator "leaf-b": sending the partial aggregate of round 1 to the root aggregator`) &&
		strings.Contains(reason, "refused by server")
	if (!byRoot && !byLeaf) || !strings.Contains(reason, hexBad+" is not in the allowed list") {
		t.Errorf("round 1 failed with reason %q, want the root's refusal of leaf-b's measurement %s", reason, hexBad)
	}
	t.Logf("round 1 failed: %s", reason)
	var recorded bool
	for _, e := range f.ledgerEntries(t, op) {
		rec, err := ledger.Parse(e.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Round == 1 && rec.State == ledger.StateFailed {
			recorded = rec.Reason == reason
		}
	}
	if !recorded {
		t.Errorf("the ledger has no failed record of round 1 with reason %q", reason)
	}
	// The root gave up on round 1 as soon as it refused leaf-b, so it takes
	// round 2 in time (not failing it by aggregator_ready_timeout), and
	// round 2 fails for leaf-b again.
	eventually(t, time.Minute, "round 2 fails", func() (bool, string) {
		st, saw := roundOf(ctx, op, 2)
		return st.GetState() == confedv1.RoundState_ROUND_STATE_FAILED, saw
	})
	if st, _ := roundOf(ctx, op, 2); !strings.Contains(st.GetReason(), `"leaf-b"`) || !strings.Contains(st.GetReason(), hexBad) {
		t.Errorf("round 2 failed with reason %q, want leaf-b's refusal again", st.GetReason())
	}
}
