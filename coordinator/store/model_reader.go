package store

import (
	"crypto/sha256"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// ModelReader streams a complete stored model. Each chunk is read in its
// own short read transaction, so a slow reader never holds one open (an
// open read transaction would stall writers that need to grow the file).
// A ModelReader is not safe for concurrent use.
//
// At the end of the stream Read returns io.EOF only if the chunks added up
// to Size; a missing or short chunk is an error.
type ModelReader struct {
	s      *Store
	round  uint64
	info   modelInfo
	sha    [32]byte
	signed *confedv1.SignedManifest

	seq   uint64 // next chunk to load
	read  uint64 // bytes returned so far
	rest  []byte // unread part of the current chunk (a slice of spare)
	spare []byte
	err   error // sticky, io.EOF at the end
}

// OpenModel opens round's model for reading. Only complete models open;
// others fail wrapping ErrNotFound.
func (s *Store) OpenModel(round uint64) (*ModelReader, error) {
	r := &ModelReader{s: s, round: round, signed: new(confedv1.SignedManifest)}
	err := s.db.View(func(tx *bolt.Tx) error {
		rb := tx.Bucket(bucketModels).Bucket(be64(round))
		if rb == nil {
			return ErrNotFound
		}
		var err error
		if r.info, r.sha, err = readInfo(rb); err != nil {
			return err
		}
		if err := proto.Unmarshal(rb.Get(keySigned), r.signed); err != nil {
			return fmt.Errorf("signed manifest: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: open model of round %d: %w", round, err)
	}
	return r, nil
}

// Round returns the model's round.
func (r *ModelReader) Round() uint64 { return r.round }

// Signed returns the model's signed manifest. Callers must not modify it.
func (r *ModelReader) Signed() *confedv1.SignedManifest { return r.signed }

// Size returns the model's size in bytes.
func (r *ModelReader) Size() uint64 { return r.info.Size }

// SHA256 returns the model's hash as recorded at Commit.
func (r *ModelReader) SHA256() [32]byte { return r.sha }

// ChunkSize returns the size of the chunks the model is stored in; reading
// with buffers this large copies each chunk once.
func (r *ModelReader) ChunkSize() int { return r.info.ChunkSize }

// Read reads the next bytes of the model.
func (r *ModelReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.rest) > 0 {
		n := copy(p, r.rest)
		r.rest = r.rest[n:]
		r.read += uint64(n)
		return n, nil
	}
	if r.seq == r.info.Chunks {
		r.err = io.EOF
		if r.read != r.info.Size {
			r.err = fmt.Errorf("store: model of round %d: chunks hold %d bytes, want %d", r.round, r.read, r.info.Size)
		}
		return 0, r.err
	}
	n, err := r.load(p)
	if err != nil {
		r.err = fmt.Errorf("store: model of round %d: %w", r.round, err)
		return 0, r.err
	}
	return n, nil
}

// load reads the next chunk into p, keeping what does not fit in r.rest.
func (r *ModelReader) load(p []byte) (int, error) {
	var n int
	err := r.s.db.View(func(tx *bolt.Tx) error {
		var c []byte
		if rb := tx.Bucket(bucketModels).Bucket(be64(r.round)); rb != nil {
			if chunks := rb.Bucket(bucketChunks); chunks != nil {
				c = chunks.Get(be64(r.seq))
			}
		}
		last := r.seq+1 == r.info.Chunks
		switch {
		case c == nil:
			return fmt.Errorf("chunk %d is missing", r.seq)
		case len(c) == 0, len(c) > r.info.ChunkSize, !last && len(c) != r.info.ChunkSize,
			r.read+uint64(len(c)) > r.info.Size:
			return fmt.Errorf("chunk %d has a bad length %d", r.seq, len(c))
		}
		n = copy(p, c)
		r.spare = append(r.spare[:0], c[n:]...) // copied out: c dies with tx
		r.rest = r.spare
		return nil
	})
	if err != nil {
		return 0, err
	}
	r.seq++
	r.read += uint64(n)
	return n, nil
}

// modelSHA256 recomputes the hash of round's stored model by streaming it.
func (s *Store) modelSHA256(round uint64) ([32]byte, error) {
	r, err := s.OpenModel(round)
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, r, make([]byte, r.ChunkSize())); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}
