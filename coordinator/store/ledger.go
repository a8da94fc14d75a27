package store

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/confed/confed/coordinator/ledger"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// AppendLedger appends the genesis record or a failed round's record, and
// stores status in the same transaction. For a failed round status is
// required, for its round, in state FAILED; for genesis it is optional.
// Published rounds are appended by ModelWriter.Commit, with their model.
// Index and Prev are computed here; rec must be a valid successor of the
// ledger (see ledger.Next).
func (s *Store) AppendLedger(status *confedv1.RoundStatus, rec ledger.Record) (ledger.Entry, error) {
	if err := checkAppend(status, rec); err != nil {
		return ledger.Entry{}, fmt.Errorf("store: append ledger: %w", err)
	}
	var entry ledger.Entry
	err := s.db.Update(func(tx *bolt.Tx) error {
		if status != nil {
			if err := putRound(tx, status); err != nil {
				return err
			}
		}
		var err error
		entry, err = appendLedger(tx, rec)
		return err
	})
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("store: append ledger: %w", err)
	}
	return entry, nil
}

func checkAppend(status *confedv1.RoundStatus, rec ledger.Record) error {
	switch {
	case rec.Kind == ledger.KindGenesis:
		return nil
	case rec.Kind == ledger.KindRound && rec.State == ledger.StatePublished:
		return errors.New("published rounds are appended by ModelWriter.Commit")
	case status == nil || status.GetRound() != rec.Round:
		return fmt.Errorf("the round status is missing or not for round %d", rec.Round)
	case status.GetState() != confedv1.RoundState_ROUND_STATE_FAILED:
		return fmt.Errorf("the round status is %v, want FAILED", status.GetState())
	}
	return nil
}

// appendLedger appends rec after the last stored record. Beyond
// ledger.Next it checks that a round's parent model is the latest
// published one, so the stored ledger always verifies.
func appendLedger(tx *bolt.Tx, rec ledger.Record) (ledger.Entry, error) {
	b := tx.Bucket(bucketLedger)
	var prev *ledger.Entry
	if k, v := b.Cursor().Last(); k != nil {
		index, ok := unbe64(k)
		if !ok {
			return ledger.Entry{}, fmt.Errorf("ledger key %x is malformed", k)
		}
		prev = &ledger.Entry{Index: index, Canonical: v, SHA256: ledger.Hash(v)}
	}
	if err := checkParent(b, rec); err != nil {
		return ledger.Entry{}, err
	}
	e, err := ledger.Next(prev, rec)
	if err != nil {
		return ledger.Entry{}, err
	}
	if err := b.Put(be64(e.Index), e.Canonical); err != nil {
		return ledger.Entry{}, err
	}
	return e, nil
}

// checkParent checks rec's ParentSHA256 against the latest published
// model, as ledger.Verify will: required for a published round (empty for
// the first model), optional for a failed one.
func checkParent(b *bolt.Bucket, rec ledger.Record) error {
	if rec.Kind != ledger.KindRound || (rec.State != ledger.StatePublished && rec.ParentSHA256 == "") {
		return nil
	}
	latest, err := latestPublished(b)
	if err != nil {
		return err
	}
	if rec.ParentSHA256 != latest {
		return fmt.Errorf("round %d: parent model %q is not the latest published model %q", rec.Round, rec.ParentSHA256, latest)
	}
	return nil
}

// latestPublished returns the model hash of the last published record, or
// "" if none.
func latestPublished(b *bolt.Bucket) (string, error) {
	c := b.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		r, err := ledger.Parse(v)
		if err != nil {
			return "", fmt.Errorf("ledger record %x: %w", k, err)
		}
		if r.Kind == ledger.KindRound && r.State == ledger.StatePublished {
			return r.ModelSHA256, nil
		}
	}
	return "", nil
}

// Ledger returns every ledger entry, oldest first.
func (s *Store) Ledger() ([]ledger.Entry, error) {
	var entries []ledger.Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLedger).ForEach(func(k, v []byte) error {
			index, ok := unbe64(k)
			if !ok {
				return fmt.Errorf("ledger key %x is malformed", k)
			}
			c := bytes.Clone(v)
			entries = append(entries, ledger.Entry{Index: index, Canonical: c, SHA256: ledger.Hash(c)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: ledger: %w", err)
	}
	return entries, nil
}

// VerifyLedger verifies the stored ledger with ledger.Verify, recomputing
// each published model's hash by streaming it from the store.
func (s *Store) VerifyLedger() (ledger.Report, error) {
	entries, err := s.Ledger()
	if err != nil {
		return ledger.Report{}, err
	}
	rep, err := ledger.Verify(entries, ledger.VerifyOptions{ModelSHA256: s.modelSHA256, RequireEvidence: true})
	if err != nil {
		return ledger.Report{}, fmt.Errorf("store: verify: %w", err)
	}
	return rep, nil
}
