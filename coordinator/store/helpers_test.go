package store_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/store"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

const testFederation = "heart-disease"

var (
	signer = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// modelBytes returns n deterministic pseudo-random bytes.
func modelBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

func genesis() ledger.Record {
	return ledger.Record{
		Kind: ledger.KindGenesis, Federation: testFederation,
		ConfigSHA256: sha("config"), TEEKind: "simulated-insecure", Insecure: true, Time: t0,
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// commitArgs are the arguments of ModelWriter.Commit.
type commitArgs struct {
	signed *confedv1.SignedManifest
	size   uint64
	sha    [32]byte
	status *confedv1.RoundStatus
	rec    ledger.Record
}

// published returns consistent, correctly signed Commit arguments for
// model as round's model built on parent (hex, "" for the first model).
func published(round uint64, parent string, model []byte) commitArgs {
	sum := sha256.Sum256(model)
	parentBytes, _ := hex.DecodeString(parent)
	update := sha256.Sum256(fmt.Appendf(nil, "update %d", round))
	m := &confedv1.ModelManifest{
		Federation: testFederation, Round: round, ModelSha256: sum[:], ModelSize: uint64(len(model)),
		ParentSha256: parentBytes, ConfigSha256: mustHex(sha("config")),
		Contributions: []*confedv1.Contribution{{Participant: "hospital-a", NumExamples: 303, UpdateSha256: update[:]}},
		TeeKind:       "simulated-insecure", Insecure: true, CreatedAt: timestamppb.New(t0), Strategy: "fedavg",
	}
	manifest, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	signed := &confedv1.SignedManifest{
		Manifest: manifest, Signature: ledger.SignManifest(signer, manifest),
		SignerPublicKey: signer.Public().(ed25519.PublicKey),
		Evidence:        &confedv1.Evidence{Kind: "simulated-insecure", Raw: []byte("evidence")},
	}
	return commitArgs{
		signed: signed,
		size:   uint64(len(model)),
		sha:    sum,
		status: &confedv1.RoundStatus{
			Round: round, State: confedv1.RoundState_ROUND_STATE_PUBLISHED, ModelSha256: sum[:],
			TeeKind: "simulated-insecure", Insecure: true, ClosedAt: timestamppb.New(t0),
		},
		rec: ledger.Record{
			Kind: ledger.KindRound, Federation: testFederation, Round: round, State: ledger.StatePublished,
			ConfigSHA256: sha("config"),
			Participants: []ledger.Participant{{Name: "hospital-a", NumExamples: 303, UpdateSHA256: hex.EncodeToString(update[:])}},
			ModelSHA256:  hex.EncodeToString(sum[:]), ParentSHA256: parent, ModelSize: uint64(len(model)),
			Manifest: manifest, Signature: signed.Signature, SignerPublicKey: signed.SignerPublicKey,
			TEEKind: "simulated-insecure", Insecure: true,
			EvidenceKind: "simulated-insecure", EvidenceSHA256: sha("evidence"), Evidence: []byte("evidence"),
			Claims: map[string]string{"kind": "simulated-insecure", "insecure": "true", "debug": "false",
				"measurement": sha("measurement"), "tcb": "none (simulated)", "verified_at": t0.Format(time.RFC3339)},
			Time: t0.Add(time.Duration(round) * time.Minute),
		},
	}
}

func failed(round uint64, reason string) (*confedv1.RoundStatus, ledger.Record) {
	return &confedv1.RoundStatus{Round: round, State: confedv1.RoundState_ROUND_STATE_FAILED, Reason: reason},
		ledger.Record{
			Kind: ledger.KindRound, Federation: testFederation, Round: round, State: ledger.StateFailed,
			Reason: reason, ConfigSHA256: sha("config"), TEEKind: "simulated-insecure", Insecure: true,
			Time: t0.Add(time.Duration(round) * time.Minute),
		}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// latestModel returns the hex hash of the latest stored model, "" if none.
func latestModel(t testing.TB, s *store.Store) string {
	t.Helper()
	round, ok, err := s.LatestModelRound()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	r, err := s.OpenModel(round)
	if err != nil {
		t.Fatal(err)
	}
	sum := r.SHA256()
	return hex.EncodeToString(sum[:])
}

// writeModel writes model in writes of varying sizes.
func writeModel(t testing.TB, w *store.ModelWriter, model []byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(len(model)), 1))
	for len(model) > 0 {
		n := min(len(model), 1+rng.IntN(300_000))
		if k, err := w.Write(model[:n]); err != nil || k != n {
			t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
		}
		model = model[n:]
	}
}

// commitModel stores model as round's model, built on the latest stored
// model.
func commitModel(t testing.TB, s *store.Store, round uint64, model []byte, chunkSize int) ledger.Entry {
	t.Helper()
	a := published(round, latestModel(t, s), model)
	w, err := s.NewModelWriter(round, chunkSize)
	if err != nil {
		t.Fatal(err)
	}
	writeModel(t, w, model)
	e, err := w.Commit(a.signed, a.size, a.sha, a.status, a.rec)
	if err != nil {
		t.Fatalf("Commit round %d: %v", round, err)
	}
	return e
}

func readModel(t testing.TB, s *store.Store, round uint64) []byte {
	t.Helper()
	r, err := s.OpenModel(round)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading model of round %d: %v", round, err)
	}
	return b
}

func appendGenesis(t testing.TB, s *store.Store) {
	t.Helper()
	if _, err := s.AppendLedger(nil, genesis()); err != nil {
		t.Fatal(err)
	}
}

func wantNotFound(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: error = %v, want ErrNotFound", what, err)
	}
}
