package store

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Meta returns the value stored under key, or an error wrapping
// ErrNotFound.
func (s *Store) Meta(key string) ([]byte, error) {
	var v []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		k, val := tx.Bucket(bucketMeta).Cursor().Seek([]byte(key))
		if k == nil || !bytes.Equal(k, []byte(key)) || val == nil {
			return ErrNotFound
		}
		v = bytes.Clone(val)
		if v == nil {
			v = []byte{}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: meta %q: %w", key, err)
	}
	return v, nil
}

// PutMeta stores v under key, replacing any previous value. The key
// "schema_version" is reserved.
func (s *Store) PutMeta(key string, v []byte) error {
	if err := checkMetaKey(key); err != nil {
		return fmt.Errorf("store: put meta %q: %w", key, err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(key), bytes.Clone(nonNil(v)))
	})
	if err != nil {
		return fmt.Errorf("store: put meta %q: %w", key, err)
	}
	return nil
}

func checkMetaKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case key == string(keySchema):
		return errors.New("reserved key")
	case len(key) > bolt.MaxKeySize:
		return errors.New("key too long")
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
