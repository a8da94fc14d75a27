package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/coordinator/store/storetest"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func open(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTripSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confed.db")
	s := open(t, path)

	if err := s.PutMeta("federation", []byte("heart-disease")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta("empty", nil); err != nil {
		t.Fatal(err)
	}
	participants := []store.Participant{
		{Name: "hospital-b", FirstSeen: t0, LastSeen: t0.Add(time.Hour), CertSHA256: sha("cert b"), SoftwareVersion: "v0.1.0"},
		{Name: "hospital-a", FirstSeen: t0, LastSeen: t0, CertSHA256: sha("cert a"), SoftwareVersion: "v0.1.0"},
	}
	for _, p := range participants {
		if err := s.PutParticipant(p); err != nil {
			t.Fatal(err)
		}
	}
	participants[0].LastSeen = t0.Add(2 * time.Hour) // replaces
	if err := s.PutParticipant(participants[0]); err != nil {
		t.Fatal(err)
	}
	open3 := &confedv1.RoundStatus{
		Round: 3, State: confedv1.RoundState_ROUND_STATE_COLLECTING, OpenedAt: timestamppb.New(t0),
		ExpectedParticipants: []string{"hospital-a", "hospital-b"}, MinParticipants: 2,
		Submissions: []*confedv1.SubmissionStatus{{Participant: "hospital-a", Accepted: true, Metrics: map[string]float64{"loss": 0.5}}},
	}
	if err := s.PutRound(open3); err != nil {
		t.Fatal(err)
	}
	appendGenesis(t, s)
	model0 := modelBytes(0, 3<<20+17)
	commitModel(t, s, 0, model0, 0)
	st1, rec1 := failed(1, "too few participants")
	if _, err := s.AppendLedger(st1, rec1); err != nil {
		t.Fatal(err)
	}
	model2 := modelBytes(2, 1<<20)
	commitModel(t, s, 2, model2, 64<<10)
	ledgerBefore, err := s.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	defer s.Close()
	if got, err := s.Meta("federation"); err != nil || string(got) != "heart-disease" {
		t.Errorf("Meta(federation) = %q, %v", got, err)
	}
	if got, err := s.Meta("empty"); err != nil || len(got) != 0 {
		t.Errorf("Meta(empty) = %q, %v; want empty value", got, err)
	}
	_, err = s.Meta("missing")
	wantNotFound(t, "Meta(missing)", err)

	gotParts, err := s.Participants()
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Participant{participants[1], participants[0]}; !reflect.DeepEqual(gotParts, want) {
		t.Errorf("Participants() = %+v\nwant %+v", gotParts, want)
	}
	if p, err := s.Participant("hospital-b"); err != nil || !p.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("Participant(hospital-b) = %+v, %v", p, err)
	}
	_, err = s.Participant("nobody")
	wantNotFound(t, "Participant(nobody)", err)

	if got, err := s.Round(3); err != nil || !proto.Equal(got, open3) {
		t.Errorf("Round(3) = %v, %v; want %v", got, err, open3)
	}
	_, err = s.Round(9)
	wantNotFound(t, "Round(9)", err)
	rounds, err := s.Rounds()
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range rounds {
		states = append(states, r.GetState().String())
	}
	want := []string{"ROUND_STATE_PUBLISHED", "ROUND_STATE_FAILED", "ROUND_STATE_PUBLISHED", "ROUND_STATE_COLLECTING"}
	if !slices.Equal(states, want) || rounds[3].GetRound() != 3 {
		t.Errorf("Rounds() states = %v, want %v", states, want)
	}

	if !bytes.Equal(readModel(t, s, 0), model0) || !bytes.Equal(readModel(t, s, 2), model2) {
		t.Error("models read back differ from the models written")
	}
	if round, ok, err := s.LatestModelRound(); err != nil || !ok || round != 2 {
		t.Errorf("LatestModelRound() = %d, %v, %v; want 2", round, ok, err)
	}
	ledgerAfter, err := s.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ledgerAfter, ledgerBefore) {
		t.Error("ledger changed across reopen")
	}
	rep, err := s.VerifyLedger()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 4 || rep.Published != 2 || rep.Failed != 1 || !rep.Insecure {
		t.Errorf("VerifyLedger() = %+v", rep)
	}
}

func TestMetaAndParticipantRefuse(t *testing.T) {
	s := storetest.Open(t)
	for _, key := range []string{"", "schema_version", strings.Repeat("k", bolt.MaxKeySize+1)} {
		if err := s.PutMeta(key, []byte("x")); err == nil {
			t.Errorf("PutMeta(%.20q) succeeded", key)
		}
	}
	if err := s.PutParticipant(store.Participant{}); err == nil {
		t.Error("PutParticipant without a name succeeded")
	}
	if err := s.PutRound(nil); err == nil {
		t.Error("PutRound(nil) succeeded")
	}
}

func TestEmptyStore(t *testing.T) {
	s := storetest.Open(t)
	if _, ok, err := s.LatestModelRound(); ok || err != nil {
		t.Errorf("LatestModelRound() on an empty store = %v, %v", ok, err)
	}
	_, err := s.OpenModel(0)
	wantNotFound(t, "OpenModel(0)", err)
	if entries, err := s.Ledger(); len(entries) != 0 || err != nil {
		t.Errorf("Ledger() = %d entries, %v", len(entries), err)
	}
	if rep, err := s.VerifyLedger(); err != nil || rep.Records != 0 {
		t.Errorf("VerifyLedger() = %+v, %v", rep, err)
	}
	if rounds, err := s.Rounds(); len(rounds) != 0 || err != nil {
		t.Errorf("Rounds() = %v, %v", rounds, err)
	}
}

func TestSecondOpenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confed.db")
	s := open(t, path)
	_, err := store.Open(path, store.Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	for _, want := range []string{path, "locked by another process", "another coordinator"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	s.Close()
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    string
	}{
		{"future schema", func(t *testing.T, path string) {
			s := open(t, path)
			s.Close()
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 0, 99})
			})
		}, "schema version 99, this build reads version 1"},
		{"missing schema", func(t *testing.T, path string) {
			s := open(t, path)
			s.Close()
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Delete([]byte("schema_version"))
			})
		}, "schema version is missing"},
		{"foreign bolt file", func(t *testing.T, path string) {
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("something-else"))
				return err
			})
		}, `not a confed store: it has bucket "something-else"`},
		{"not a bolt file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, bytes.Repeat([]byte("not bolt"), 1024), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "store: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "confed.db")
			tt.prepare(t, path)
			s, err := store.Open(path, store.Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open = %v, want error containing %q", err, tt.want)
			}
			if strings.Contains(tt.name, "schema") && !errors.Is(err, store.ErrUnsupportedSchema) {
				t.Errorf("Open = %v, want ErrUnsupportedSchema", err)
			}
		})
	}
}

// rawUpdate edits a store file directly, as corruption or another program
// would.
func rawUpdate(t *testing.T, path string, f func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(f); err != nil {
		t.Fatal(err)
	}
}
