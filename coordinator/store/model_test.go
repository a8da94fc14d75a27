package store_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/coordinator/store/storetest"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func TestModelRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		chunkSize  int // 0: default
		batchBytes int // 0: default
	}{
		{"several MiB, odd size", 5<<20 + 12345, 0, 0},
		{"exact chunks", 3 << 20, 1 << 20, 0},
		{"small chunks, many transactions", 1<<20 + 7, 4096, 64 << 10},
		{"chunk per transaction", 300_001, 65536, 1},
		{"smaller than a chunk", 100, 0, 0},
		{"one byte", 1, 0, 0},
		{"empty", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.Open(t)
			if tt.batchBytes > 0 {
				store.SetBatchBytes(s, tt.batchBytes)
			}
			appendGenesis(t, s)
			model := modelBytes(uint64(tt.size), tt.size)
			a := published(0, "", model)
			entry := commitModel(t, s, 0, model, tt.chunkSize)

			r, err := s.OpenModel(0)
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != uint64(tt.size) || r.SHA256() != a.sha || r.Round() != 0 || !proto.Equal(r.Signed(), a.signed) {
				t.Errorf("reader reports size %d, sha %x, round %d, signed equal %v",
					r.Size(), r.SHA256(), r.Round(), proto.Equal(r.Signed(), a.signed))
			}
			if err := iotest.TestReader(r, model); err != nil {
				t.Errorf("reading back: %v", err)
			}
			if got := readModel(t, s, 0); !bytes.Equal(got, model) {
				t.Errorf("read %d bytes, not byte-identical to the %d written", len(got), len(model))
			}
			entries, err := s.Ledger()
			if err != nil || len(entries) != 2 || !bytes.Equal(entries[1].Canonical, entry.Canonical) {
				t.Errorf("ledger = %d entries, %v; want genesis and the committed record", len(entries), err)
			}
			if _, err := s.VerifyLedger(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestModelReaderSmallReads(t *testing.T) {
	s := storetest.Open(t)
	appendGenesis(t, s)
	model := modelBytes(1, 10_000)
	commitModel(t, s, 0, model, 1024)
	for _, size := range []int{1, 7, 1023, 1024, 1025, 4096} {
		r, err := s.OpenModel(0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(io.LimitReader(readerOf(r, size), 1<<20))
		if err != nil || !bytes.Equal(got, model) {
			t.Errorf("reads of %d bytes: %d bytes, %v", size, len(got), err)
		}
	}
}

// readerOf reads r with buffers of exactly n bytes.
func readerOf(r io.Reader, n int) io.Reader {
	return readerFunc(func(p []byte) (int, error) { return r.Read(p[:min(n, len(p))]) })
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// A reader between two Reads holds no transaction: a writer that grows
// the file (and so must remap it, which waits for every open read
// transaction) proceeds, in the same goroutine, while a stream is half
// read.
func TestModelReaderHoldsNoTransaction(t *testing.T) {
	s := storetest.Open(t)
	appendGenesis(t, s)
	model := modelBytes(1, 4<<20)
	commitModel(t, s, 0, model, 0)
	r, err := s.OpenModel(0)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 1<<20+5)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		commitModel(t, s, 1, modelBytes(2, 40<<20), 0)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("a write blocked while a model stream was half read")
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(head, rest...), model) {
		t.Errorf("stream after the write: %d bytes, %v", len(rest), err)
	}
}

func TestRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confed.db")
	s := open(t, path)
	store.SetBatchBytes(s, 256<<10)
	appendGenesis(t, s)
	model0 := modelBytes(0, 2<<20+3)
	commitModel(t, s, 0, model0, 64<<10)
	w, err := s.NewModelWriter(1, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	writeModel(t, w, modelBytes(1, 3<<20)) // several batches stored, never committed
	if partial, err := store.PartialModels(s); err != nil || !slices.Equal(partial, []uint64{1}) {
		t.Fatalf("partial models before the crash = %v, %v", partial, err)
	}
	if rec, err := s.Recover(); err != nil || len(rec.PartialModels) != 0 {
		t.Errorf("Recover() with the writer open = %+v, %v; want nothing removed", rec, err)
	}
	if err := s.Close(); err != nil { // "crash": the writer never finishes
		t.Fatal(err)
	}

	s = open(t, path)
	defer s.Close()
	if got := s.Recovered().PartialModels; !slices.Equal(got, []uint64{1}) {
		t.Errorf("Recovered().PartialModels = %v, want [1]", got)
	}
	if partial, err := store.PartialModels(s); err != nil || len(partial) != 0 {
		t.Errorf("partial models after recovery = %v, %v", partial, err)
	}
	_, err = s.OpenModel(1)
	wantNotFound(t, "OpenModel(1)", err)
	if !bytes.Equal(readModel(t, s, 0), model0) {
		t.Error("the committed model changed")
	}
	if round, ok, err := s.LatestModelRound(); err != nil || !ok || round != 0 {
		t.Errorf("LatestModelRound() = %d, %v, %v; want 0", round, ok, err)
	}
	if rec, err := s.Recover(); err != nil || len(rec.PartialModels) != 0 {
		t.Errorf("second Recover() = %+v, %v", rec, err)
	}
	commitModel(t, s, 1, modelBytes(1, 1000), 0) // the round can be written again
	if _, err := s.VerifyLedger(); err != nil {
		t.Error(err)
	}
}

func TestCommitRefuses(t *testing.T) {
	model := modelBytes(1, 1<<20+99)
	tests := []struct {
		name     string
		mutate   func(a *commitArgs)
		mismatch bool // errors.Is(err, ErrModelMismatch)
		want     string
	}{
		{"size mismatch", func(a *commitArgs) { a.size++ }, true, "bytes were written"},
		{"hash mismatch", func(a *commitArgs) { a.sha[0] ^= 1 }, true, "the bytes written hash to"},
		{"no signed manifest", func(a *commitArgs) { a.signed = nil }, false, "signed manifest is missing"},
		{"status of another round", func(a *commitArgs) { a.status.Round = 7 }, false, "not for round 1"},
		{"status not published", func(a *commitArgs) { a.status.State = 5 }, false, "want PUBLISHED"},
		{"status with another model", func(a *commitArgs) { a.status.ModelSha256 = make([]byte, 32) }, false, "another model hash"},
		{"record of another round", func(a *commitArgs) { a.rec.Round = 2 }, false, "not a published record of round 1"},
		{"record with another model", func(a *commitArgs) { a.rec.ModelSize-- }, false, "another model hash or size"},
		{"record with another signature", func(a *commitArgs) { a.rec.Signature = bytes.Clone(a.rec.Signature); a.rec.Signature[0] ^= 1 }, false, "differs from the signed manifest"},
		{"bad signature", func(a *commitArgs) {
			a.signed.Signature[0] ^= 1
			a.rec.Signature = a.signed.Signature
		}, false, "manifest signature does not verify"},
		{"record disagrees with manifest", func(a *commitArgs) { a.rec.Insecure, a.rec.TEEKind = false, "tdx" }, false, "manifest tee_kind"},
		{"wrong parent", func(a *commitArgs) { a.rec.ParentSHA256 = sha("other") }, false, "is not the latest published model"},
		{"round does not follow", func(a *commitArgs) {}, false, "round 1 does not follow round 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.Open(t)
			store.SetBatchBytes(s, 256<<10)
			appendGenesis(t, s)
			commitModel(t, s, 0, modelBytes(0, 5000), 0)
			if tt.name == "round does not follow" {
				st, rec := failed(3, "timeout")
				if _, err := s.AppendLedger(st, rec); err != nil {
					t.Fatal(err)
				}
			}
			before, err := s.Ledger()
			if err != nil {
				t.Fatal(err)
			}

			a := published(1, latestModel(t, s), model)
			tt.mutate(&a)
			w, err := s.NewModelWriter(1, 64<<10)
			if err != nil {
				t.Fatal(err)
			}
			writeModel(t, w, model)
			_, err = w.Commit(a.signed, a.size, a.sha, a.status, a.rec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Commit = %v, want error containing %q", err, tt.want)
			}
			if got := errors.Is(err, store.ErrModelMismatch); got != tt.mismatch {
				t.Errorf("errors.Is(err, ErrModelMismatch) = %v, want %v", got, tt.mismatch)
			}

			// Nothing is left behind.
			_, err = s.OpenModel(1)
			wantNotFound(t, "OpenModel(1)", err)
			_, err = s.Round(1)
			wantNotFound(t, "Round(1)", err)
			if partial, err := store.PartialModels(s); err != nil || len(partial) != 0 {
				t.Errorf("partial models left: %v, %v", partial, err)
			}
			if after, err := s.Ledger(); err != nil || len(after) != len(before) {
				t.Errorf("ledger has %d entries, had %d (%v)", len(after), len(before), err)
			}
			if _, err := w.Write([]byte("x")); !errors.Is(err, store.ErrWriterClosed) {
				t.Errorf("Write after a failed Commit = %v, want ErrWriterClosed", err)
			}
			w2, err := s.NewModelWriter(1, 0)
			if err != nil {
				t.Fatalf("round 1 cannot be written again: %v", err)
			}
			if err := w2.Abort(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestModelWriterLifecycle(t *testing.T) {
	s := storetest.Open(t)
	appendGenesis(t, s)
	commitModel(t, s, 0, modelBytes(0, 100), 0)

	_, err := s.NewModelWriter(0, 0)
	if !errors.Is(err, store.ErrModelExists) {
		t.Errorf("NewModelWriter for a stored model = %v, want ErrModelExists", err)
	}
	for _, size := range []int{-1, store.MaxChunkSize + 1} {
		if _, err := s.NewModelWriter(1, size); err == nil {
			t.Errorf("NewModelWriter with chunk size %d succeeded", size)
		}
	}
	w, err := s.NewModelWriter(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewModelWriter(1, 0); !errors.Is(err, store.ErrModelExists) {
		t.Errorf("second writer for round 1 = %v, want ErrModelExists", err)
	}
	writeModel(t, w, modelBytes(1, 2<<20+1))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort = %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, store.ErrWriterClosed) {
		t.Errorf("Write after Abort = %v, want ErrWriterClosed", err)
	}
	a := published(1, latestModel(t, s), nil)
	if _, err := w.Commit(a.signed, a.size, a.sha, a.status, a.rec); !errors.Is(err, store.ErrWriterClosed) {
		t.Errorf("Commit after Abort = %v, want ErrWriterClosed", err)
	}
	if partial, _ := store.PartialModels(s); len(partial) != 0 {
		t.Errorf("Abort left partial models %v", partial)
	}

	model := modelBytes(1, 777)
	a = published(1, latestModel(t, s), model)
	w, err = s.NewModelWriter(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeModel(t, w, model)
	if _, err := w.Commit(a.signed, a.size, a.sha, a.status, a.rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v", err)
	}
	if !bytes.Equal(readModel(t, s, 1), model) {
		t.Error("Abort after Commit damaged the model")
	}
}

func TestAppendLedgerRefuses(t *testing.T) {
	st2, rec2 := failed(2, "timeout")
	st3, _ := failed(3, "timeout")
	wrongParent := rec2
	wrongParent.ParentSHA256 = sha("nothing")
	tests := []struct {
		name    string
		genesis bool // append genesis first
		status  *confedv1.RoundStatus
		rec     ledger.Record
		want    string
	}{
		{"round before genesis", false, st2, rec2, `the first record must be "genesis"`},
		{"published round", true, st2, published(2, "", []byte("m")).rec, "appended by ModelWriter.Commit"},
		{"failed round without status", true, nil, rec2, "round status is missing"},
		{"status of another round", true, st3, rec2, "not for round 2"},
		{"status not failed", true, published(2, "", nil).status, rec2, "want FAILED"},
		{"second genesis", true, nil, genesis(), `only the first record may be "genesis"`},
		{"failed round with a wrong parent", true, st2, wrongParent, "is not the latest published model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.Open(t)
			if tt.genesis {
				appendGenesis(t, s)
			}
			_, err := s.AppendLedger(tt.status, tt.rec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("AppendLedger = %v, want error containing %q", err, tt.want)
			}
			_, err = s.Round(2)
			wantNotFound(t, "Round(2) after a refused append", err)
		})
	}
}

func TestVerifyLedgerDetectsDamagedModels(t *testing.T) {
	tests := []struct {
		name   string
		damage func(chunks *bolt.Bucket) error
		want   string
	}{
		{"flipped byte", func(chunks *bolt.Bucket) error {
			c := bytes.Clone(chunks.Get([]byte{0, 0, 0, 0, 0, 0, 0, 1}))
			c[100] ^= 1
			return chunks.Put([]byte{0, 0, 0, 0, 0, 0, 0, 1}, c)
		}, "ledger record 1 (round 0): stored model hashes to"},
		{"missing chunk", func(chunks *bolt.Bucket) error {
			return chunks.Delete([]byte{0, 0, 0, 0, 0, 0, 0, 1})
		}, "ledger record 1 (round 0): stored model: store: model of round 0: chunk 1 is missing"},
		{"truncated chunk", func(chunks *bolt.Bucket) error {
			return chunks.Put([]byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte("short"))
		}, "chunk 1 has a bad length 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "confed.db")
			s := open(t, path)
			appendGenesis(t, s)
			commitModel(t, s, 0, modelBytes(0, 3<<20+1), 0)
			s.Close()
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tt.damage(tx.Bucket([]byte("models")).Bucket(make([]byte, 8)).Bucket([]byte("chunks")))
			})
			s = open(t, path)
			defer s.Close()
			_, err := s.VerifyLedger()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("VerifyLedger = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestModelWriterErrorIsSticky(t *testing.T) {
	s := storetest.Open(t)
	store.SetBatchBytes(s, 1)
	appendGenesis(t, s)
	w, err := s.NewModelWriter(0, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // the next batch cannot be stored
		t.Fatal(err)
	}
	_, err = w.Write(make([]byte, 1024))
	if err == nil || !strings.Contains(err.Error(), "store: write model of round 0") {
		t.Fatalf("Write to a closed store = %v", err)
	}
	if _, err2 := w.Write([]byte("x")); err2 != err {
		t.Errorf("second Write = %v, want the first error again", err2)
	}
	a := published(0, "", nil)
	if _, err := w.Commit(a.signed, a.size, a.sha, a.status, a.rec); err == nil {
		t.Error("Commit after a failed Write succeeded")
	}
}
