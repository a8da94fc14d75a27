package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Record kinds.
const (
	KindGenesis = "genesis"
	KindRound   = "round"
)

// Round outcomes recorded in Record.State.
const (
	StatePublished = "published"
	StateFailed    = "failed"
)

// GenesisPrev is the Prev of the genesis record: 64 zeros.
const GenesisPrev = "0000000000000000000000000000000000000000000000000000000000000000"

// Participant is one accepted contribution to a round.
type Participant struct {
	Name         string `json:"name"`
	NumExamples  uint64 `json:"num_examples"`
	UpdateSHA256 string `json:"update_sha256"` // lowercase hex
}

// Privacy is the differential privacy of one round: what it spent
// (EpsilonRound, 0 when it released nothing private) and the federation's
// total after it, at Delta, against EpsilonBudget. All values are finite.
type Privacy struct {
	Mode            string  `json:"mode"`
	EpsilonRound    float64 `json:"epsilon_round"`
	EpsilonTotal    float64 `json:"epsilon_total"`
	Delta           float64 `json:"delta"`
	NoiseMultiplier float64 `json:"noise_multiplier"`
	ClipNorm        float64 `json:"clip_norm"`
	EpsilonBudget   float64 `json:"epsilon_budget"`
}

// check refuses privacy on a genesis record, an unknown mode and values out
// of range (nil is fine: the federation runs without DP).
func (p *Privacy) check(kind string) error {
	switch {
	case p == nil:
		return nil
	case kind != KindRound:
		return fmt.Errorf("privacy on a %q record", kind)
	case p.Mode != "central" && p.Mode != "local":
		return fmt.Errorf("privacy mode %q, want central or local", p.Mode)
	case !(p.Delta > 0 && p.Delta < 1):
		return fmt.Errorf("privacy delta %v, want 0 < δ < 1", p.Delta)
	case !(p.EpsilonRound >= 0 && p.EpsilonRound <= p.EpsilonTotal) || !(p.NoiseMultiplier > 0) || p.ClipNorm < 0 || !(p.EpsilonBudget > 0):
		return fmt.Errorf("privacy values out of range: %+v", *p)
	}
	return nil
}

// Record is one ledger record. All hashes are lowercase hex SHA-256 (or
// empty where a field does not apply).
//
// A genesis record carries only Federation, ConfigSHA256, Reason, the TEE
// fields (TEEKind, Insecure) and Time; Round is 0 and State, every model
// field and every evidence field are empty. A failed round carries no model
// fields (Manifest, Signature, SignerPublicKey, ModelSHA256, ModelSize) and
// no evidence fields (EvidenceKind, EvidenceSHA256, Evidence, Claims). A
// published round carries all of them, and they must agree with the signed
// manifest and with each other.
type Record struct {
	Index      uint64 `json:"index"`
	Kind       string `json:"kind"` // KindGenesis or KindRound
	Federation string `json:"federation"`
	Round      uint64 `json:"round"`
	State      string `json:"state"` // StatePublished or StateFailed; empty for genesis
	Reason     string `json:"reason"`

	ConfigSHA256 string        `json:"config_sha256"`
	Participants []Participant `json:"participants"`

	ModelSHA256  string `json:"model_sha256"`
	ParentSHA256 string `json:"parent_sha256"`
	ModelSize    uint64 `json:"model_size"`

	Manifest        []byte `json:"manifest"` // serialized confedv1.ModelManifest
	Signature       []byte `json:"signature"`
	SignerPublicKey []byte `json:"signer_public_key"`

	TEEKind string `json:"tee_kind"`
	// Insecure is true when the aggregator ran in the insecure simulated
	// TEE; it must be true whenever TEEKind is "simulated-insecure".
	Insecure bool `json:"insecure"`

	EvidenceKind   string `json:"evidence_kind"`
	EvidenceSHA256 string `json:"evidence_sha256"`
	// Evidence is the raw TEE evidence of the signed manifest (what
	// EvidenceSHA256 hashes), kept so that an auditor can verify it again
	// later (confed attest verify). Claims summarise what the coordinator
	// verified of it (see [ClaimsSummary]); they are a record of that
	// verification, not proof: only re-verifying Evidence is.
	//
	// Both are omitted from the canonical form when empty, so records
	// written before they existed keep their canonical bytes; a published
	// round without them is accepted by [Verify] (and counted in
	// Report.WithoutEvidence) unless VerifyOptions.RequireEvidence is set.
	Evidence []byte            `json:"evidence,omitempty"`
	Claims   map[string]string `json:"claims,omitempty"`

	// Privacy is the differential-privacy budget after this round (see
	// docs/privacy.md); omitted, like Evidence, when the federation runs
	// without DP, so older records keep their canonical bytes.
	Privacy *Privacy `json:"privacy,omitempty"`

	// Tree records the leaf aggregators of a round aggregated by a tree
	// (tree.go); omitted otherwise, so older records keep their bytes.
	Tree []TreeLeaf `json:"tree,omitempty"`

	Time time.Time `json:"time"` // UTC, encoded RFC 3339 with nanoseconds
	Prev string    `json:"prev"` // hash of the previous record; GenesisPrev for genesis
}

// Canonical returns the record's canonical bytes: the encoding/json encoding
// of r with Time in UTC and nil slices encoded as empty ("[]", "") so that
// each record has exactly one canonical form. Evidence and Claims are the
// exception: empty (nil or not), they are left out.
func (r Record) Canonical() ([]byte, error) {
	r.Time = r.Time.UTC()
	if r.Participants == nil {
		r.Participants = []Participant{}
	}
	r.Manifest = nonNil(r.Manifest)
	r.Signature = nonNil(r.Signature)
	r.SignerPublicKey = nonNil(r.SignerPublicKey)
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("ledger: canonical: %w", err)
	}
	return b, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Parse decodes a record strictly: unknown fields and trailing data are
// errors. It does not check that the bytes are canonical; [Verify] does.
func Parse(canonical []byte) (Record, error) {
	r, err := parse(canonical)
	if err != nil {
		return Record{}, fmt.Errorf("ledger: parse: %w", err)
	}
	return r, nil
}

func parse(canonical []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return Record{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Record{}, errors.New("trailing data after the record")
	}
	if err := r.Privacy.check(r.Kind); err != nil {
		return Record{}, err
	}
	if err := checkTree(r); err != nil {
		return Record{}, err
	}
	return r, nil
}

// Hash returns the hash by which the next record refers to this one.
func Hash(canonical []byte) [32]byte {
	return sha256.Sum256(canonical)
}

// Entry is a stored ledger record: its canonical bytes and their hash.
type Entry struct {
	Index     uint64
	Canonical []byte
	SHA256    [32]byte
}

// Next builds the entry that follows prev (nil: r is the genesis record).
// It sets r.Index and r.Prev from prev and refuses a record that
// [Verify] would reject on its own or as prev's successor: wrong kind,
// malformed fields, a bad manifest signature, a manifest that disagrees
// with the record, a federation that differs from prev's, or a round that
// does not follow prev's. It cannot check a published record's
// ParentSHA256, which needs the whole chain; callers appending to a chain
// check that themselves.
func Next(prev *Entry, r Record) (Entry, error) {
	if err := link(prev, &r); err != nil {
		return Entry{}, fmt.Errorf("ledger: next: %w", err)
	}
	r.Time = r.Time.UTC()
	if err := checkRecord(r); err != nil {
		return Entry{}, fmt.Errorf("ledger: next: record %d (round %d): %w", r.Index, r.Round, err)
	}
	if err := r.Privacy.check(r.Kind); err != nil {
		return Entry{}, fmt.Errorf("ledger: next: record %d (round %d): %w", r.Index, r.Round, err)
	}
	if err := checkTree(r); err != nil {
		return Entry{}, fmt.Errorf("ledger: next: record %d (round %d): %w", r.Index, r.Round, err)
	}
	c, err := r.Canonical()
	if err != nil {
		return Entry{}, err
	}
	return Entry{Index: r.Index, Canonical: c, SHA256: Hash(c)}, nil
}

// link sets r.Index and r.Prev and checks r may follow prev.
func link(prev *Entry, r *Record) error {
	if prev == nil {
		if r.Kind != KindGenesis {
			return fmt.Errorf("the first record must be %q, not %q", KindGenesis, r.Kind)
		}
		r.Index, r.Prev = 0, GenesisPrev
		return nil
	}
	if r.Kind != KindRound {
		return fmt.Errorf("only the first record may be %q; got kind %q", KindGenesis, r.Kind)
	}
	if Hash(prev.Canonical) != prev.SHA256 {
		return fmt.Errorf("previous entry %d: sha256 does not match its bytes", prev.Index)
	}
	p, err := parse(prev.Canonical)
	if err != nil {
		return fmt.Errorf("previous entry %d: %w", prev.Index, err)
	}
	if p.Index != prev.Index || prev.Index == math.MaxUint64 {
		return fmt.Errorf("previous entry %d: record index is %d", prev.Index, p.Index)
	}
	if err := checkFollows(p, *r); err != nil {
		return err
	}
	r.Index, r.Prev = prev.Index+1, hex.EncodeToString(prev.SHA256[:])
	return nil
}

// checkFollows checks the rules between consecutive records that need only
// the two records.
func checkFollows(prev, r Record) error {
	if r.Federation != prev.Federation {
		return fmt.Errorf("federation %q differs from the previous record's %q", r.Federation, prev.Federation)
	}
	if prev.Kind == KindRound && r.Round <= prev.Round {
		return fmt.Errorf("round %d does not follow round %d", r.Round, prev.Round)
	}
	return nil
}
