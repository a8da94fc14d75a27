package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/coordinator/ledger"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

var (
	// ErrModelExists is wrapped by NewModelWriter when the round already
	// has a complete model, or a writer.
	ErrModelExists = errors.New("model already exists")
	// ErrModelMismatch is wrapped by Commit when the bytes written do not
	// have the declared size or hash.
	ErrModelMismatch = errors.New("model does not match its declared size or hash")
	// ErrWriterClosed is returned by a ModelWriter after Commit or Abort.
	ErrWriterClosed = errors.New("store: model writer is closed")
)

// ModelWriter stores one round's model. Write buffers chunks and commits
// them in batches, a transaction per ~64 MiB, so neither memory nor any
// transaction grows with the model; nothing is visible to readers until
// Commit. A ModelWriter is not safe for concurrent use.
//
// A writer ends with Commit or Abort. `defer w.Abort()` is safe: Abort
// after Commit does nothing.
type ModelWriter struct {
	s         *Store
	round     uint64
	chunkSize int
	batch     int // chunks per transaction

	cur     []byte   // chunk being filled
	pending [][]byte // full chunks not yet stored
	free    [][]byte // chunk buffers to reuse
	seq     uint64   // next chunk number to store
	size    uint64
	hash    hash.Hash
	err     error // sticky write error
	done    bool
}

// NewModelWriter starts writing the model of round in chunks of chunkSize
// bytes (0: DefaultChunkSize; at most MaxChunkSize). It fails, wrapping
// ErrModelExists, if the round already has a complete model or an open
// writer. A leftover partial model of the round is discarded.
func (s *Store) NewModelWriter(round uint64, chunkSize int) (*ModelWriter, error) {
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	if chunkSize < 0 || chunkSize > MaxChunkSize {
		return nil, fmt.Errorf("store: new model writer: chunk size %d is outside 1..%d", chunkSize, MaxChunkSize)
	}
	if !s.register(round) {
		return nil, fmt.Errorf("store: new model writer: round %d is being written: %w", round, ErrModelExists)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		models, key := tx.Bucket(bucketModels), be64(round)
		if rb := models.Bucket(key); rb != nil {
			if rb.Get(keyComplete) != nil {
				return fmt.Errorf("round %d: %w", round, ErrModelExists)
			}
			if err := models.DeleteBucket(key); err != nil {
				return err
			}
		}
		rb, err := models.CreateBucket(key)
		if err != nil {
			return err
		}
		_, err = rb.CreateBucket(bucketChunks)
		return err
	})
	if err != nil {
		s.unregister(round)
		return nil, fmt.Errorf("store: new model writer: %w", err)
	}
	return &ModelWriter{
		s: s, round: round, chunkSize: chunkSize,
		batch: max(1, s.batchBytes/chunkSize),
		hash:  sha256.New(),
	}, nil
}

func (s *Store) register(round uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writers[round] {
		return false
	}
	s.writers[round] = true
	return true
}

func (s *Store) unregister(round uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.writers, round)
}

// Write appends p to the model. Full batches of chunks are stored before
// Write returns; an error is sticky and the writer must then be aborted.
func (w *ModelWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, ErrWriterClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		if w.cur == nil {
			w.cur = w.buffer()
		}
		k := copy(w.cur[len(w.cur):w.chunkSize], p)
		w.cur = w.cur[:len(w.cur)+k]
		w.hash.Write(p[:k])
		w.size += uint64(k)
		n, p = n+k, p[k:]
		if len(w.cur) < w.chunkSize {
			continue
		}
		w.pending, w.cur = append(w.pending, w.cur), nil
		if len(w.pending) >= w.batch {
			if err := w.flush(); err != nil {
				w.err = err
				return n, err
			}
		}
	}
	return n, nil
}

func (w *ModelWriter) buffer() []byte {
	if k := len(w.free); k > 0 {
		b := w.free[k-1]
		w.free = w.free[:k-1]
		return b[:0]
	}
	return make([]byte, 0, w.chunkSize)
}

// flush stores the pending chunks in one transaction.
func (w *ModelWriter) flush() error {
	err := w.s.db.Update(func(tx *bolt.Tx) error {
		rb, err := w.bucket(tx)
		if err != nil {
			return err
		}
		return w.putPending(rb)
	})
	if err != nil {
		return fmt.Errorf("store: write model of round %d: %w", w.round, err)
	}
	w.seq += uint64(len(w.pending))
	w.free = append(w.free, w.pending...)
	w.pending = w.pending[:0]
	return nil
}

// bucket returns the writer's partial model bucket.
func (w *ModelWriter) bucket(tx *bolt.Tx) (*bolt.Bucket, error) {
	rb := tx.Bucket(bucketModels).Bucket(be64(w.round))
	if rb == nil || rb.Bucket(bucketChunks) == nil || rb.Get(keyComplete) != nil {
		return nil, errors.New("the partial model bucket is missing or already complete")
	}
	return rb, nil
}

// putPending puts the pending chunks; w.seq advances only once the
// transaction commits.
func (w *ModelWriter) putPending(rb *bolt.Bucket) error {
	chunks := rb.Bucket(bucketChunks)
	chunks.FillPercent = 1 // keys only ever increase
	for i, c := range w.pending {
		if err := chunks.Put(be64(w.seq+uint64(i)), c); err != nil {
			return err
		}
	}
	return nil
}

// Commit completes the model in ONE transaction: it stores the remaining
// chunks, the signed manifest and the completion marker, stores status
// (PutRound) and appends rec to the ledger, computing its Index and Prev.
//
// size and sha must match the bytes written, or Commit fails wrapping
// ErrModelMismatch. The arguments must also agree with each other: status
// and rec are for the writer's round, status is PUBLISHED with model_sha256
// = sha, rec is a published round record with ModelSHA256 = sha, ModelSize =
// size and the manifest, signature and key of signed, and rec must be a
// valid successor of the ledger (see ledger.Next; its ParentSHA256 must be
// the latest published model).
//
// Commit is final: on any error the partial model is deleted and nothing
// of it, the status or the record is stored.
func (w *ModelWriter) Commit(signed *confedv1.SignedManifest, size uint64, sha [32]byte, status *confedv1.RoundStatus, rec ledger.Record) (ledger.Entry, error) {
	if w.done {
		return ledger.Entry{}, ErrWriterClosed
	}
	if w.err != nil {
		return ledger.Entry{}, w.fail(w.err)
	}
	if err := w.checkCommit(signed, size, sha, status, rec); err != nil {
		return ledger.Entry{}, w.fail(fmt.Errorf("store: commit model of round %d: %w", w.round, err))
	}
	if len(w.cur) > 0 {
		w.pending, w.cur = append(w.pending, w.cur), nil
	}
	signedBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(signed)
	if err != nil {
		return ledger.Entry{}, w.fail(fmt.Errorf("store: commit model of round %d: %w", w.round, err))
	}
	marker, err := json.Marshal(modelInfo{
		Size: size, SHA256: hex.EncodeToString(sha[:]), ChunkSize: w.chunkSize,
		Chunks: w.seq + uint64(len(w.pending)),
	})
	if err != nil {
		return ledger.Entry{}, w.fail(fmt.Errorf("store: commit model of round %d: %w", w.round, err))
	}
	var entry ledger.Entry
	err = w.s.db.Update(func(tx *bolt.Tx) error {
		rb, err := w.bucket(tx)
		if err != nil {
			return err
		}
		if err := w.putPending(rb); err != nil {
			return err
		}
		if err := rb.Put(keySigned, signedBytes); err != nil {
			return err
		}
		if err := rb.Put(keyComplete, marker); err != nil {
			return err
		}
		if err := putRound(tx, status); err != nil {
			return err
		}
		entry, err = appendLedger(tx, rec)
		return err
	})
	if err != nil {
		return ledger.Entry{}, w.fail(fmt.Errorf("store: commit model of round %d: %w", w.round, err))
	}
	w.finish()
	w.s.unregister(w.round)
	return entry, nil
}

// checkCommit checks Commit's arguments against what was written and
// against each other.
func (w *ModelWriter) checkCommit(signed *confedv1.SignedManifest, size uint64, sha [32]byte, status *confedv1.RoundStatus, rec ledger.Record) error {
	if size != w.size {
		return fmt.Errorf("%w: %d bytes were written, the declared size is %d", ErrModelMismatch, w.size, size)
	}
	if got := [32]byte(w.hash.Sum(nil)); got != sha {
		return fmt.Errorf("%w: the bytes written hash to %x, the declared hash is %x", ErrModelMismatch, got, sha)
	}
	switch {
	case signed == nil || len(signed.GetManifest()) == 0:
		return errors.New("the signed manifest is missing")
	case status == nil || status.GetRound() != w.round:
		return fmt.Errorf("the round status is missing or not for round %d", w.round)
	case status.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED:
		return fmt.Errorf("the round status is %v, want PUBLISHED", status.GetState())
	case !bytes.Equal(status.GetModelSha256(), sha[:]):
		return errors.New("the round status names another model hash")
	case rec.Kind != ledger.KindRound || rec.State != ledger.StatePublished || rec.Round != w.round:
		return fmt.Errorf("the ledger record is not a published record of round %d", w.round)
	case rec.ModelSHA256 != hex.EncodeToString(sha[:]) || rec.ModelSize != size:
		return errors.New("the ledger record names another model hash or size")
	case !bytes.Equal(rec.Manifest, signed.GetManifest()) || !bytes.Equal(rec.Signature, signed.GetSignature()) ||
		!bytes.Equal(rec.SignerPublicKey, signed.GetSignerPublicKey()):
		return errors.New("the ledger record's manifest, signature or signer differs from the signed manifest")
	}
	return nil
}

// Abort deletes the partial model. It does nothing after Commit or a
// previous Abort.
func (w *ModelWriter) Abort() error {
	if w.done {
		return nil
	}
	w.finish()
	defer w.s.unregister(w.round) // only once the bucket is gone
	err := w.s.db.Update(func(tx *bolt.Tx) error {
		models, key := tx.Bucket(bucketModels), be64(w.round)
		rb := models.Bucket(key)
		if rb == nil || rb.Get(keyComplete) != nil {
			return nil // never delete a committed model
		}
		return models.DeleteBucket(key)
	})
	if err != nil {
		return fmt.Errorf("store: abort model of round %d: %w", w.round, err)
	}
	return nil
}

// fail aborts the writer after err and returns err (joined with any abort
// error).
func (w *ModelWriter) fail(err error) error {
	if aerr := w.Abort(); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}

// finish closes the writer and releases its buffers; the caller releases
// its round.
func (w *ModelWriter) finish() {
	w.done = true
	w.cur, w.pending, w.free = nil, nil, nil
}
