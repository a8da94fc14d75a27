package store

import bolt "go.etcd.io/bbolt"

// SetBatchBytes changes how much model data a writer commits per
// transaction, so tests exercise many batches with small models.
func SetBatchBytes(s *Store, n int) { s.batchBytes = n }

// PartialModels lists the rounds whose model bucket has no completion
// marker.
func PartialModels(s *Store) ([]uint64, error) { return modelRounds(s, false) }

// CompleteModels lists the rounds with a complete model.
func CompleteModels(s *Store) ([]uint64, error) { return modelRounds(s, true) }

func modelRounds(s *Store, complete bool) ([]uint64, error) {
	var rounds []uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		models := tx.Bucket(bucketModels)
		return models.ForEachBucket(func(k []byte) error {
			if (models.Bucket(k).Get(keyComplete) != nil) == complete {
				r, _ := unbe64(k)
				rounds = append(rounds, r)
			}
			return nil
		})
	})
	return rounds, err
}
