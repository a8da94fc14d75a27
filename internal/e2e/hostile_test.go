package e2e

import (
	"context"
	"crypto/sha256"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// hostileRounds expects a fourth participant, rogue, that never sends a
// valid update: with min 3 every round closes at the (short) deadline with
// the three hospitals.
var hostileRounds = roundYAML(roundOpts{rounds: 2, expected: []string{"cleveland", "hungary", "long-beach-va", "rogue"}, min: 3, roundDeadline: "6s"})

var honest = []string{"cleveland", "hungary", "long-beach-va"}

// TestHostileParticipant runs three honest hospitals and "rogue", an
// expected participant with a real certificate that drives the protocol by
// hand: it joins, waits for the TRAIN task of round 2, downloads the global
// model and submits malformed updates to the aggregator. Every one must be
// refused with a reason naming the problem; refusals of an admitted stream
// must show in the round's status; the round must still publish with the
// three hospitals and nothing of rogue's. In the same round a hospital's
// second submission, after its update was included, is refused as a
// duplicate, and a participant outside the federation is refused at the
// aggregator.
func TestHostileParticipant(t *testing.T) {
	t.Parallel()
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, hs, hostileRounds)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	f.startCoordinator(ctx, f.coordLis)
	f.startAggregator(ctx)

	// rogue joins and watches first, so that each round opens as soon as
	// the hospitals are connected.
	fc := confedv1.NewFederationClient(f.dialAs(t, pki.RoleParticipant, "rogue", f.coordAddr, pki.RoleCoordinator))
	jctx, jcancel := context.WithTimeout(ctx, 10*time.Second)
	join, err := fc.Join(jctx, &confedv1.JoinRequest{SoftwareVersion: "rogue/0"})
	jcancel()
	if err != nil {
		t.Fatalf("rogue, an expected participant, cannot join: %v", err)
	}
	if join.GetParticipant() != "rogue" {
		t.Fatalf("join answered for %q", join.GetParticipant())
	}
	watch, err := fc.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tasks := make(chan *confedv1.Task, 64)
	go func() {
		defer close(tasks)
		for {
			tk, err := watch.Recv()
			if err != nil {
				return
			}
			tasks <- tk
		}
	}()
	f.startParticipants(ctx)

	var task *confedv1.Task
	timeout := time.After(60 * time.Second)
	for task == nil {
		select {
		case tk, ok := <-tasks:
			if !ok {
				t.Fatal("rogue's task stream ended before round 2")
			}
			if tk.GetKind() == confedv1.TaskKind_TASK_KIND_TRAIN && tk.GetRound() == 2 {
				task = tk
			}
		case err := <-f.errs:
			t.Fatalf("daemon failed: %v", err)
		case <-timeout:
			t.Fatal("no TRAIN task for round 2 within 60s")
		}
	}
	collecting := time.Now()
	spec := lrSpec(t)
	global, err := fetchModel(ctx, fc, task.GetGlobalRound(), task.GetGlobalModelSha256(), spec)
	if err != nil {
		t.Fatalf("rogue cannot download the global model of round %d: %v", task.GetGlobalRound(), err)
	}
	base := global.SHA256[:]
	op := f.operator(t)
	r0, saw := roundOf(ctx, op, 0)
	if r0 == nil {
		t.Fatal(saw)
	}
	agg := confedv1.NewAggregatorClient(f.dialAs(t, pki.RoleParticipant, "rogue", task.GetAggregatorAddress(), pki.RoleAggregator))

	const chunk = 64 // several chunks per update (the encoding is ~450 bytes)
	valid := filled(t, spec, 0.01)
	validEnc := model.EncodeSafetensors(valid)
	canonical := uint64(len(validEnc))

	nan := valid.Clone()
	w, _ := nan.Lookup("weight")
	w.Data[3] = float32(math.NaN())

	renamed := valid.Clone()
	for i := range renamed.Tensors {
		if renamed.Tensors[i].Name == "weight" {
			renamed.Tensors[i].Name = "weigxt" // same length, same sort position: same size
		}
	}
	if uint64(len(model.EncodeSafetensors(renamed))) != canonical {
		t.Fatal("test bug: the renamed model does not have the canonical size")
	}

	wider, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: heartdisease.NumFeatures + 1, Init: model.InitZeros})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		u    func() upload
		// want are substrings the refusal must contain.
		want []string
		// admitted: the aggregator refuses only after the coordinator
		// admitted the stream, so the refusal is recorded in the round's
		// status. Otherwise the aggregator refuses on the header alone,
		// with FailedPrecondition, before asking the coordinator.
		admitted bool
	}{
		{"NaN value", func() upload { return honestUpload(2, base, nan, chunk) },
			[]string{"non_finite", `tensor "weight" element 3 is NaN`}, true},
		{"wrong tensor name", func() upload { return honestUpload(2, base, renamed, chunk) },
			[]string{"wrong_shape", `tensor "weight" missing`}, true},
		{"wrong tensor size", func() upload { return honestUpload(2, base, wider, chunk) },
			[]string{"size_mismatch", "a model of this shape has"}, false},
		{"declared size larger than the bytes and the shape", func() upload {
			return rawUpload(2, base, validEnc, canonical+8, chunk)
		}, []string{"size_mismatch", "update declares"}, false},
		{"more bytes than declared", func() upload {
			return rawUpload(2, base, append(slices.Clone(validEnc), make([]byte, 8)...), canonical, chunk)
		}, []string{"exceeds", "bytes"}, true},
		{"fewer bytes than declared", func() upload {
			return rawUpload(2, base, validEnc[:len(validEnc)-8], canonical, chunk)
		}, []string{"truncated"}, true},
		{"chunks out of order", func() upload {
			u := honestUpload(2, base, valid, chunk)
			u.chunks[0], u.chunks[1] = u.chunks[1], u.chunks[0]
			return u
		}, []string{"bad_stream", "out of order", "got chunk 1, want 0"}, true},
		{"chunk sequence gap", func() upload {
			u := honestUpload(2, base, valid, chunk)
			u.chunks[2].Seq = 3
			return u
		}, []string{"bad_stream", "out of order", "got chunk 3, want 2"}, true},
		{"hash does not match the bytes", func() upload {
			u := honestUpload(2, base, valid, chunk)
			other := sha256.Sum256([]byte("something else"))
			u.header.UpdateSha256 = other[:]
			return u
		}, []string{"hash_mismatch", "declared"}, true},
		{"wrong base model", func() upload { return honestUpload(2, r0.GetModelSha256(), valid, chunk) },
			[]string{"trained from model", "round 2 starts from"}, false},
	}
	var lastRecorded string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
			defer scancel()
			resp, err := tc.u().send(sctx, agg, "rogue")
			var reason string
			switch {
			case err != nil:
				st, _ := status.FromError(err)
				if st.Code() != codes.FailedPrecondition {
					t.Errorf("refused with %v, want FailedPrecondition or a response", err)
				}
				if tc.admitted {
					t.Errorf("refused before admission (%v); expected the aggregator to admit and then refuse", err)
				}
				reason = st.Message()
			case resp.GetAccepted():
				t.Fatalf("malformed update accepted: %v", resp)
			default:
				reason = resp.GetReason()
				if !tc.admitted {
					t.Errorf("refused in the response (%q); expected a refusal before admission", reason)
				}
			}
			t.Logf("refused: %s", reason)
			for _, w := range tc.want {
				if !strings.Contains(reason, w) {
					t.Errorf("refusal %q does not contain %q", reason, w)
				}
			}
			st, saw := roundOf(ctx, op, 2)
			if st == nil {
				t.Fatal(saw)
			}
			if st.GetState() != confedv1.RoundState_ROUND_STATE_COLLECTING {
				t.Fatalf("round 2 is no longer collecting (%s): the deadline is too short for this test", saw)
			}
			sub := submissionOf(st, "rogue")
			if !tc.admitted {
				// The design records only admitted streams: a refusal on
				// the header is in the aggregator's log, not the status.
				if sub != nil && sub.GetReason() != lastRecorded {
					t.Errorf("rogue's status changed after a refusal before admission: %v", sub)
				}
				return
			}
			if sub == nil {
				t.Fatalf("refusal not in the round status: %s", saw)
			}
			if sub.GetAccepted() || sub.GetIncluded() || sub.GetReason() != reason {
				t.Errorf("round status shows rogue accepted=%v included=%v reason %q; want refused with %q",
					sub.GetAccepted(), sub.GetIncluded(), sub.GetReason(), reason)
			}
			lastRecorded = sub.GetReason()
		})
	}

	t.Run("participant outside the federation", func(t *testing.T) {
		mallory := confedv1.NewAggregatorClient(f.dialAs(t, pki.RoleParticipant, "mallory", task.GetAggregatorAddress(), pki.RoleAggregator))
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		resp, err := honestUpload(2, base, valid, chunk).send(sctx, mallory, "mallory")
		if err == nil {
			t.Fatalf("update from a participant outside participants.expected answered %v, want an error", resp)
		}
		st := wantCode(t, "update from mallory", err, codes.PermissionDenied)
		if !strings.Contains(st.Message(), `"mallory" is not expected`) {
			t.Errorf("refusal %q does not say that mallory is not expected", st.Message())
		}
		if rs, saw := roundOf(ctx, op, 2); rs == nil || submissionOf(rs, "mallory") != nil {
			t.Errorf("mallory in the round status: %s", saw)
		}
	})

	t.Run("duplicate", func(t *testing.T) {
		var before *confedv1.SubmissionStatus
		eventually(t, 10*time.Second, "cleveland's update included in round 2", func() (bool, string) {
			st, saw := roundOf(ctx, op, 2)
			before = submissionOf(st, "cleveland")
			return before.GetIncluded(), saw
		})
		cleveland := confedv1.NewAggregatorClient(f.dialAs(t, pki.RoleParticipant, "cleveland", task.GetAggregatorAddress(), pki.RoleAggregator))
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		resp, err := honestUpload(2, base, filled(t, spec, 0.5), chunk).send(sctx, cleveland, "cleveland")
		if err == nil {
			t.Fatalf("second submission of an included participant answered %v, want an error", resp)
		}
		st := wantCode(t, "second submission", err, codes.FailedPrecondition)
		if !strings.Contains(st.Message(), "duplicate") {
			t.Errorf("refusal %q does not say duplicate", st.Message())
		}
		rs, saw := roundOf(ctx, op, 2)
		if rs.GetState() != confedv1.RoundState_ROUND_STATE_COLLECTING {
			t.Fatalf("round 2 is no longer collecting (%s): the deadline is too short for this test", saw)
		}
		after := submissionOf(rs, "cleveland")
		if !after.GetIncluded() || after.GetNumExamples() != before.GetNumExamples() || after.GetReason() != "" {
			t.Errorf("the duplicate changed cleveland's status: before %v, after %v", before, after)
		}
	})
	t.Logf("rogue's submissions took %s of the 6s collection window", time.Since(collecting).Round(time.Millisecond))

	f.waitParticipants(60 * time.Second)
	resp, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetFinished() || len(resp.GetRounds()) != 3 {
		t.Fatalf("want finished with rounds 0..2, got finished=%v rounds=%d", resp.GetFinished(), len(resp.GetRounds()))
	}
	for _, r := range resp.GetRounds() {
		if r.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED {
			t.Errorf("round %d: %v (%s), want published", r.GetRound(), r.GetState(), r.GetReason())
			continue
		}
		if r.GetRound() == 0 {
			continue
		}
		var inc []string
		for _, s := range r.GetSubmissions() {
			if s.GetIncluded() {
				inc = append(inc, s.GetParticipant())
			}
		}
		if !slices.Equal(inc, honest) {
			t.Errorf("round %d included %v, want %v", r.GetRound(), inc, honest)
		}
	}
	r2 := resp.GetRounds()[2]
	if s := submissionOf(r2, "rogue"); s == nil || s.GetAccepted() || s.GetIncluded() || s.GetReason() != lastRecorded {
		t.Errorf("published round 2 shows rogue as %v, want its last refusal %q", s, lastRecorded)
	}
	if s := submissionOf(resp.GetRounds()[1], "rogue"); s != nil {
		t.Errorf("round 1 shows a submission of rogue, which sent none: %v", s)
	}

	final := f.download(t, op)
	var contributors []string
	for _, c := range final.Verified.Manifest.GetContributions() {
		contributors = append(contributors, c.GetParticipant())
	}
	if final.Verified.Manifest.GetRound() != 2 || !slices.Equal(contributors, honest) {
		t.Errorf("final model: round %d, contributions %v; want round 2 from %v",
			final.Verified.Manifest.GetRound(), contributors, honest)
	}
	if _, err := ledger.Verify(f.ledgerEntries(t, op), ledger.VerifyOptions{RequireEvidence: true}); err != nil {
		t.Errorf("ledger does not verify: %v", err)
	}
	cancel()
	f.wg.Wait()
	verifyStoreFile(t, filepath.Join(f.dir, "coordinator.db"), 4)
}

// verifyStoreFile opens a stopped coordinator's file, checks the number of
// ledger records and verifies the ledger against the stored models.
func verifyStoreFile(t *testing.T, path string, wantRecords int) []ledger.Entry {
	t.Helper()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, err := st.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != wantRecords {
		t.Errorf("ledger has %d records, want %d", len(es), wantRecords)
	}
	if _, err := st.VerifyLedger(); err != nil {
		t.Errorf("stored ledger does not verify against the stored models: %v", err)
	}
	return es
}
