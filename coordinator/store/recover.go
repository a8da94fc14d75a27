package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Recovery reports what Recover removed.
type Recovery struct {
	// PartialModels are the rounds whose partially written models (no
	// completion marker) were deleted, ascending.
	PartialModels []uint64
}

// Recover deletes partially written models: model buckets without a
// completion marker that no open ModelWriter of this Store owns. Open runs
// it; calling it again is harmless.
func (s *Store) Recover() (Recovery, error) {
	var rec Recovery
	err := s.db.Update(func(tx *bolt.Tx) error {
		models := tx.Bucket(bucketModels)
		s.mu.Lock()
		active := make(map[uint64]bool, len(s.writers))
		for r := range s.writers {
			active[r] = true
		}
		s.mu.Unlock()
		err := models.ForEachBucket(func(k []byte) error {
			round, ok := unbe64(k)
			if ok && !active[round] && models.Bucket(k).Get(keyComplete) == nil {
				rec.PartialModels = append(rec.PartialModels, round)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, round := range rec.PartialModels {
			if err := models.DeleteBucket(be64(round)); err != nil {
				return fmt.Errorf("delete partial model of round %d: %w", round, err)
			}
		}
		return nil
	})
	if err != nil {
		return Recovery{}, fmt.Errorf("store: recover: %w", err)
	}
	return rec, nil
}

// Recovered reports what the Recover run by Open removed.
func (s *Store) Recovered() Recovery { return s.recovered }
