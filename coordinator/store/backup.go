package store

import (
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// WriteBackup writes a consistent copy of the whole store file to w from
// one read transaction, so the coordinator keeps running (and writing)
// while it runs. The copy is a store file that Open accepts. It returns
// the number of bytes written. size, if not nil, is called with the
// copy's size before the first byte is written.
func (s *Store) WriteBackup(w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}
