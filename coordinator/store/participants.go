package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Participant is what the coordinator remembers about a participant it has
// seen.
type Participant struct {
	Name            string    `json:"name"` // identity from the client certificate
	FirstSeen       time.Time `json:"first_seen"`
	LastSeen        time.Time `json:"last_seen"`
	CertSHA256      string    `json:"cert_sha256"` // hex SHA-256 of the client certificate
	SoftwareVersion string    `json:"software_version"`
}

// PutParticipant stores p under p.Name, replacing any previous record.
func (s *Store) PutParticipant(p Participant) error {
	if p.Name == "" || len(p.Name) > bolt.MaxKeySize {
		return errors.New("store: put participant: name is empty or too long")
	}
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: put participant %q: %w", p.Name, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketParticipants).Put([]byte(p.Name), v)
	})
	if err != nil {
		return fmt.Errorf("store: put participant %q: %w", p.Name, err)
	}
	return nil
}

// Participant returns the participant named name, or an error wrapping
// ErrNotFound.
func (s *Store) Participant(name string) (Participant, error) {
	var p Participant
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketParticipants).Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &p)
	})
	if err != nil {
		return Participant{}, fmt.Errorf("store: participant %q: %w", name, err)
	}
	return p, nil
}

// Participants returns every stored participant, sorted by name.
func (s *Store) Participants() ([]Participant, error) {
	var ps []Participant
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketParticipants).ForEach(func(k, v []byte) error {
			var p Participant
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("participant %q: %w", k, err)
			}
			ps = append(ps, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: participants: %w", err)
	}
	return ps, nil
}
