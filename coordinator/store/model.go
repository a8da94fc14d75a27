package store

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Chunk sizes accepted by NewModelWriter.
const (
	DefaultChunkSize = 1 << 20
	MaxChunkSize     = 64 << 20
)

var (
	bucketChunks = []byte("chunks")
	keySigned    = []byte("signed")
	keyComplete  = []byte("complete")
)

// modelInfo is the completion marker of a stored model.
type modelInfo struct {
	Size      uint64 `json:"size"`
	SHA256    string `json:"sha256"` // hex
	ChunkSize int    `json:"chunk_size"`
	Chunks    uint64 `json:"chunks"`
}

func (m modelInfo) sha() ([32]byte, error) {
	var sum [32]byte
	b, err := hex.DecodeString(m.SHA256)
	if err != nil || len(b) != len(sum) {
		return sum, fmt.Errorf("malformed model hash %q", m.SHA256)
	}
	copy(sum[:], b)
	return sum, nil
}

// readInfo returns the completion marker of a model bucket.
func readInfo(rb *bolt.Bucket) (modelInfo, [32]byte, error) {
	var info modelInfo
	v := rb.Get(keyComplete)
	if v == nil {
		return info, [32]byte{}, ErrNotFound
	}
	if err := json.Unmarshal(v, &info); err != nil {
		return info, [32]byte{}, fmt.Errorf("completion marker: %w", err)
	}
	if info.ChunkSize <= 0 || info.ChunkSize > MaxChunkSize {
		return info, [32]byte{}, fmt.Errorf("completion marker: chunk size %d", info.ChunkSize)
	}
	sum, err := info.sha()
	return info, sum, err
}

// LatestModelRound returns the highest round with a complete model; ok is
// false when no model is stored.
func (s *Store) LatestModelRound() (round uint64, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		models := tx.Bucket(bucketModels)
		c := models.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			rb := models.Bucket(k)
			if v != nil || rb == nil || rb.Get(keyComplete) == nil {
				continue
			}
			round, ok = unbe64(k)
			if ok {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: latest model: %w", err)
	}
	return round, ok, nil
}
