package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// PutRound stores a snapshot of a round's status, replacing the previous
// snapshot of that round.
func (s *Store) PutRound(st *confedv1.RoundStatus) error {
	if err := s.db.Update(func(tx *bolt.Tx) error { return putRound(tx, st) }); err != nil {
		return fmt.Errorf("store: put round: %w", err)
	}
	return nil
}

func putRound(tx *bolt.Tx, st *confedv1.RoundStatus) error {
	if st == nil {
		return errors.New("round status is nil")
	}
	v, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
	if err != nil {
		return fmt.Errorf("round %d: %w", st.GetRound(), err)
	}
	return tx.Bucket(bucketRounds).Put(be64(st.GetRound()), v)
}

// Round returns the latest snapshot of round n, or an error wrapping
// ErrNotFound.
func (s *Store) Round(n uint64) (*confedv1.RoundStatus, error) {
	st := new(confedv1.RoundStatus)
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRounds).Get(be64(n))
		if v == nil {
			return ErrNotFound
		}
		return proto.Unmarshal(v, st)
	})
	if err != nil {
		return nil, fmt.Errorf("store: round %d: %w", n, err)
	}
	return st, nil
}

// Rounds returns the latest snapshot of every stored round, ascending.
func (s *Store) Rounds() ([]*confedv1.RoundStatus, error) {
	var out []*confedv1.RoundStatus
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRounds).ForEach(func(k, v []byte) error {
			st := new(confedv1.RoundStatus)
			if err := proto.Unmarshal(v, st); err != nil {
				return fmt.Errorf("round %x: %w", k, err)
			}
			out = append(out, st)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: rounds: %w", err)
	}
	return out, nil
}
