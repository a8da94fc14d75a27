package e2e

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/heartdisease"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// restartRounds lets round 1 start with two of the three hospitals (after a
// short join timeout) and keeps it collecting for a long time: the third
// hospital is held back, so the round cannot close early.
var restartRounds = roundYAML(roundOpts{rounds: 2, min: 2, joinTimeout: "500ms", roundDeadline: "60s"})

// TestCoordinatorRestartMidRound stops the coordinator while round 1 is
// collecting (two updates already included, the third hospital held back)
// and starts a new one on the same bbolt file and the same address. The
// aggregator and the participants must reconnect by themselves; round 1 must
// be recorded as failed because of the restart (its included updates are
// lost: the aggregator dropped them); rounds 2 and 3 must publish from the
// round-0 model; and the ledger must verify against the stored models.
func TestCoordinatorRestartMidRound(t *testing.T) {
	t.Parallel()
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, hs, restartRounds)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	coordCtx, stopCoord := context.WithCancel(ctx)
	done := f.startCoordinatorOn(coordCtx, f.coordLis, testLogger(t, "coordinator-1"))
	f.startAggregator(ctx)
	f.startParticipant(ctx, hs[0], testLogger(t, hs[0].Name))
	f.startParticipant(ctx, hs[1], testLogger(t, hs[1].Name))

	op := f.operator(t)
	var before *confedv1.RoundStatus
	eventually(t, 30*time.Second, "round 1 collecting with cleveland and hungary included", func() (bool, string) {
		st, saw := roundOf(ctx, op, 1)
		before = st
		return st.GetState() == confedv1.RoundState_ROUND_STATE_COLLECTING &&
			submissionOf(st, "cleveland").GetIncluded() && submissionOf(st, "hungary").GetIncluded(), saw
	})

	stopped := time.Now()
	stopCoord()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("coordinator: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("coordinator did not stop within 20s")
	}
	t.Logf("coordinator stopped in %s", time.Since(stopped).Round(time.Millisecond))

	// The same address, so that the running aggregator and participants
	// find the new coordinator.
	f.startCoordinatorOn(ctx, relisten(t, f.coordAddr), testLogger(t, "coordinator-2"))
	f.startParticipant(ctx, hs[2], testLogger(t, hs[2].Name))
	f.waitParticipants(60 * time.Second)
	t.Logf("federation finished %s after the stop", time.Since(stopped).Round(time.Millisecond))

	resp, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetFinished() || len(resp.GetRounds()) != 4 {
		t.Fatalf("want finished with rounds 0..3, got finished=%v rounds=%v", resp.GetFinished(), resp.GetRounds())
	}
	const wantReason = "coordinator restarted while the round was collecting"
	r1 := resp.GetRounds()[1]
	if r1.GetState() != confedv1.RoundState_ROUND_STATE_FAILED || r1.GetReason() != wantReason {
		t.Errorf("round 1 is %v with reason %q, want FAILED with %q", r1.GetState(), r1.GetReason(), wantReason)
	}
	if r1.GetClosedAt() == nil {
		t.Error("failed round 1 has no closed_at")
	}
	// The stored status keeps what happened before the restart.
	for _, p := range []string{"cleveland", "hungary"} {
		if !submissionOf(r1, p).GetIncluded() {
			t.Errorf("round 1 lost the record of %s's included update: %v (before the stop: %v)", p, r1.GetSubmissions(), before.GetSubmissions())
		}
	}
	for _, r := range []*confedv1.RoundStatus{resp.GetRounds()[0], resp.GetRounds()[2], resp.GetRounds()[3]} {
		if r.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED {
			t.Errorf("round %d: %v (%s), want published", r.GetRound(), r.GetState(), r.GetReason())
		}
		if r.GetRound() > 0 && included(r) != 3 {
			t.Errorf("round %d included %d updates, want 3", r.GetRound(), included(r))
		}
	}

	entries := f.ledgerEntries(t, op)
	rep, err := ledger.Verify(entries, ledger.VerifyOptions{RequireEvidence: true})
	if err != nil {
		t.Fatalf("ledger does not verify: %v", err)
	}
	if rep.Published != 3 || rep.Failed != 1 {
		t.Errorf("ledger: %d published and %d failed rounds, want 3 (0, 2, 3) and 1 (1)", rep.Published, rep.Failed)
	}
	var failedRounds []uint64
	for _, e := range entries {
		rec, err := ledger.Parse(e.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		if rec.State == ledger.StateFailed {
			failedRounds = append(failedRounds, rec.Round)
			if !strings.Contains(rec.Reason, "coordinator restarted") {
				t.Errorf("ledger record of failed round %d says %q, want the restart", rec.Round, rec.Reason)
			}
		}
		if rec.Round == 2 && rec.State == ledger.StatePublished {
			r0 := resp.GetRounds()[0].GetModelSha256()
			if rec.ParentSHA256 != hexOf(r0) {
				t.Errorf("round 2 starts from %s, want the round-0 model %s", rec.ParentSHA256, hexOf(r0))
			}
		}
	}
	if !slices.Equal(failedRounds, []uint64{1}) {
		t.Errorf("failed rounds in the ledger: %v, want [1]", failedRounds)
	}

	cancel()
	f.wg.Wait()
	verifyStoreFile(t, filepath.Join(f.dir, "coordinator.db"), 5) // genesis, 0, 1 failed, 2, 3
}

var earlyRounds = roundYAML(roundOpts{rounds: 2})

// TestParticipantsStartBeforeCoordinator starts the participants and the
// aggregator while nothing listens on the coordinator's address: they must
// retry with exponential backoff (the participants' logs show the doubling
// delays) and the federation must complete once the coordinator starts.
func TestParticipantsStartBeforeCoordinator(t *testing.T) {
	t.Parallel()
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, hs, earlyRounds)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	// Nothing listens on the address until the coordinator starts: the
	// daemons see "connection refused".
	f.coordLis.Close()

	logs := map[string]*captured{}
	for _, h := range hs {
		log, c := newCaptured(t, h.Name)
		logs[h.Name] = c
		f.startParticipant(ctx, h, log)
	}
	f.startAggregator(ctx)

	// Default back-off: 500ms, 1s, 2s, ... Wait for the second retry.
	eventually(t, 20*time.Second, "participants retrying twice", func() (bool, string) {
		for name, c := range logs {
			if n := len(c.find("reconnecting")); n < 2 {
				return false, name + " has not retried twice"
			}
		}
		return true, ""
	})
	select {
	case err := <-f.participants:
		t.Fatalf("a participant gave up while the coordinator was down: %v", err)
	default:
	}
	started := time.Now()
	f.startCoordinatorOn(ctx, relisten(t, f.coordAddr), testLogger(t, "coordinator"))
	f.waitParticipants(60 * time.Second)
	t.Logf("federation finished %s after the coordinator started", time.Since(started).Round(time.Millisecond))

	for name, c := range logs {
		var backoffs []string
		for _, r := range c.find("reconnecting") {
			backoffs = append(backoffs, r.Attrs["backoff"])
		}
		if len(backoffs) < 2 || backoffs[0] != "500ms" || backoffs[1] != "1s" {
			t.Errorf("%s retried with back-offs %v, want 500ms, 1s, ... (doubling from reconnect.initial)", name, backoffs)
		}
		if len(c.find("update accepted")) != 2 {
			t.Errorf("%s: %d updates accepted, want 2", name, len(c.find("update accepted")))
		}
	}

	op := f.operator(t)
	resp, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetFinished() || len(resp.GetRounds()) != 3 {
		t.Fatalf("want finished with rounds 0..2, got finished=%v rounds=%d", resp.GetFinished(), len(resp.GetRounds()))
	}
	for _, r := range resp.GetRounds() {
		if r.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || (r.GetRound() > 0 && included(r) != 3) {
			t.Errorf("round %d: %v (%s), %d included; want published with 3", r.GetRound(), r.GetState(), r.GetReason(), included(r))
		}
	}
	cancel()
	f.wg.Wait()
	verifyStoreFile(t, filepath.Join(f.dir, "coordinator.db"), 4)
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }
