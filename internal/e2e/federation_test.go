package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
	"github.com/confed/confed/participant"
	"github.com/confed/confed/participant/trainer"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

var threeRounds = roundYAML(roundOpts{rounds: 3, min: 3})

// TestFederationThreeRounds runs a coordinator, an aggregator and three
// hospitals for three rounds over loopback gRPC with mutual TLS and a real
// bbolt file, then checks what was published, the ledger and the stored
// models, and that a restarted coordinator resumes from its file.
func TestFederationThreeRounds(t *testing.T) {
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, hs, threeRounds)
	ctx, cancel := context.WithCancel(context.Background())
	f.startCoordinator(ctx, f.coordLis)
	f.startAggregator(ctx)
	f.startParticipants(ctx)
	f.waitParticipants(2 * time.Minute)

	op := f.operator(t)
	resp, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetFinished() || len(resp.GetRounds()) != 4 {
		t.Fatalf("want finished with rounds 0..3, got finished=%v rounds=%d", resp.GetFinished(), len(resp.GetRounds()))
	}
	for _, r := range resp.GetRounds() {
		if r.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED {
			t.Errorf("round %d: state %v (%s), want published", r.GetRound(), r.GetState(), r.GetReason())
		}
		if !r.GetInsecure() {
			t.Errorf("round %d is not labelled insecure although the aggregator ran in the simulated TEE", r.GetRound())
		}
		if r.GetRound() > 0 && included(r) != 3 {
			t.Errorf("round %d included %d updates, want 3", r.GetRound(), included(r))
		}
	}
	final := f.download(t, op)
	if got := final.Verified.Manifest.GetRound(); got != 3 {
		t.Errorf("latest model is from round %d, want 3", got)
	}
	if acc := pooledAccuracy(t, final, hs); acc < 0.7 {
		t.Errorf("pooled test accuracy of the federated model after 3 rounds = %.3f, want >= 0.7", acc)
	}
	entries := f.ledgerEntries(t, op)
	rep, err := ledger.Verify(entries, ledger.VerifyOptions{RequireEvidence: true})
	if err != nil {
		t.Fatalf("ledger from the coordinator does not verify: %v", err)
	}
	t.Logf("ledger: %+v", rep)

	cancel()
	f.wg.Wait()
	f.checkStore(t, 5)
	f.restart(t)
}

func included(r *confedv1.RoundStatus) int {
	n := 0
	for _, s := range r.GetSubmissions() {
		if s.GetIncluded() {
			n++
		}
	}
	return n
}

// checkStore reopens the bbolt file and verifies the ledger against the
// stored model bytes.
func (f *fed) checkStore(t *testing.T, wantRecords int) {
	t.Helper()
	st, err := store.Open(filepath.Join(f.dir, "coordinator.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, err := st.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != wantRecords {
		t.Errorf("ledger has %d records, want %d (genesis + rounds 0..3)", len(es), wantRecords)
	}
	if _, err := st.VerifyLedger(); err != nil {
		t.Errorf("stored ledger does not verify against the stored models: %v", err)
	}
}

// restart runs a new coordinator on the same file: it must load the
// finished federation and serve the same rounds.
func (f *fed) restart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	lis := listen(t)
	f.coordAddr = lis.Addr().String()
	f.startCoordinator(ctx, lis)
	op := f.operator(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := op.ListRounds(ctx, &confedv1.ListRoundsRequest{})
		if err == nil && len(resp.GetRounds()) == 4 {
			if resp.GetRounds()[3].GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED {
				t.Errorf("after restart round 3 is %v", resp.GetRounds()[3].GetState())
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted coordinator does not serve the 4 stored rounds: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var operators atomic.Int64

func (f *fed) operator(t *testing.T) confedv1.OperatorClient {
	t.Helper()
	files := pki.Files(f.issue(pki.RoleOperator, fmt.Sprintf("operator-%d", operators.Add(1))))
	tlsCfg, err := pki.ClientTLS(files, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(f.coordAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return confedv1.NewOperatorClient(conn)
}

func (f *fed) download(t *testing.T, op confedv1.OperatorClient) *modelio.Downloaded {
	t.Helper()
	s, err := op.DownloadModel(context.Background(), &confedv1.DownloadModelRequest{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := modelio.Receive(context.Background(), s, modelio.Expect{Federation: federation,
		Verifier: simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true})})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fed) ledgerEntries(t *testing.T, op confedv1.OperatorClient) []ledger.Entry {
	t.Helper()
	s, err := op.GetLedger(context.Background(), &confedv1.LedgerRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var out []ledger.Entry
	for {
		e, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var sum [32]byte
		copy(sum[:], e.GetSha256())
		out = append(out, ledger.Entry{Index: e.GetIndex(), Canonical: e.GetRecord(), SHA256: sum})
	}
}

func pooledAccuracy(t *testing.T, d *modelio.Downloaded, hs []heartdisease.Hospital) float64 {
	t.Helper()
	w, err := participant.ModelToWeights(d.Model)
	if err != nil {
		t.Fatal(err)
	}
	pd := participant.Default().Data
	var tests []heartdisease.Dataset
	for _, h := range hs {
		_, test, err := heartdisease.Prepare(filepath.Join(dataDir, h.File), pd.TestFraction, pd.SplitSeed)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, test)
	}
	m, err := trainer.Evaluate(w, heartdisease.Concat(tests...))
	if err != nil {
		t.Fatal(err)
	}
	return m.Accuracy
}
