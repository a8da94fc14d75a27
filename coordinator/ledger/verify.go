package ledger

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
)

// VerifyOptions adjusts [Verify].
type VerifyOptions struct {
	// ModelSHA256, if set, recomputes the hash of the stored model of a
	// published round; Verify checks it equals the record's ModelSHA256.
	ModelSHA256 func(round uint64) ([32]byte, error)
	// RequireEvidence refuses a published round whose record does not
	// carry its evidence bytes and claims (a record written before they
	// were kept), instead of counting it in Report.WithoutEvidence.
	RequireEvidence bool
}

// Report summarises a verified ledger.
type Report struct {
	Records   int // all records, genesis included
	Published int // published rounds
	Failed    int // failed rounds
	// Insecure is true when any record ran in an insecure (simulated) TEE.
	Insecure bool
	// WithoutEvidence counts the published rounds whose records keep only
	// the hash of their evidence, not the evidence itself, so that it
	// cannot be verified again from the ledger alone.
	WithoutEvidence int
	// Head is the hash of the last record (zero for an empty ledger).
	Head [32]byte
}

// VerifyError is the error [Verify] returns: which record failed and why.
type VerifyError struct {
	Index  uint64 // position of the record in the ledger
	Parsed bool   // whether Kind and Round were read from the record
	Kind   string
	Round  uint64
	Err    error // the failed check
}

func (e *VerifyError) Error() string {
	where := fmt.Sprintf("ledger record %d", e.Index)
	switch {
	case !e.Parsed:
	case e.Kind == KindGenesis:
		where += " (genesis)"
	default:
		where += fmt.Sprintf(" (round %d)", e.Round)
	}
	return where + ": " + e.Err.Error()
}

func (e *VerifyError) Unwrap() error { return e.Err }

// Verify checks a whole ledger, oldest record first: every entry parses
// strictly and is canonical, its SHA256 matches its bytes, indexes count up
// from 0, the genesis record comes first and only first, each Prev names
// the previous record's hash, rounds strictly increase, all records share
// the genesis federation, each record passes the checks of [Next], and each
// published model's parent is the previously published model (none for the
// first). Each published record's evidence must hash to its evidence_sha256
// and come with a complete claims summary that agrees with the record
// (published records that keep only the hash are counted in
// Report.WithoutEvidence, or refused with opts.RequireEvidence); genesis and
// failed records carry no evidence. Verify does not verify the evidence
// itself against any attestation policy: confed attest verify does. With
// opts.ModelSHA256 set it also checks every published model as stored. The error is a *[VerifyError] naming the first bad record.
// An empty ledger verifies, with an empty report.
func Verify(entries []Entry, opts VerifyOptions) (Report, error) {
	c := chain{opts: opts}
	for i := range entries {
		if err := c.add(uint64(i), entries[i]); err != nil {
			return Report{}, err
		}
	}
	return c.rep, nil
}

// chain is the state of a verification in progress.
type chain struct {
	opts      VerifyOptions
	prev      Record
	lastModel string   // model hash of the latest published round
	published bool     // whether any round was published yet
	privacy   *Privacy // the latest record's privacy, if any carried it
	rep       Report
}

// checkPrivacy refuses a privacy budget that shrinks along the chain or a
// record that claims to have gone beyond its budget: the coordinator only
// runs a round whose total stays within it, and ε only grows.
func (c *chain) checkPrivacy(r Record) error {
	p := r.Privacy
	if p == nil {
		return nil
	}
	if p.EpsilonTotal > p.EpsilonBudget {
		return fmt.Errorf("privacy: ε total %v exceeds the budget %v", p.EpsilonTotal, p.EpsilonBudget)
	}
	if c.privacy != nil && p.EpsilonTotal < c.privacy.EpsilonTotal {
		return fmt.Errorf("privacy: ε total %v is below the previous record's %v: the budget spent cannot shrink", p.EpsilonTotal, c.privacy.EpsilonTotal)
	}
	c.privacy = p
	return nil
}

func (c *chain) add(pos uint64, e Entry) error {
	r, err := parse(e.Canonical)
	if err != nil {
		return &VerifyError{Index: pos, Err: fmt.Errorf("malformed record: %w", err)}
	}
	fail := func(format string, args ...any) error {
		return &VerifyError{Index: pos, Parsed: true, Kind: r.Kind, Round: r.Round, Err: fmt.Errorf(format, args...)}
	}
	if err := c.checkEntry(pos, e, r); err != nil {
		return fail("%w", err)
	}
	if err := checkRecord(r); err != nil {
		return fail("%w", err)
	}
	if err := c.checkModel(r); err != nil {
		return fail("%w", err)
	}
	if err := c.checkPrivacy(r); err != nil {
		return fail("%w", err)
	}
	if c.opts.RequireEvidence && r.Kind == KindRound && r.State == StatePublished && len(r.Evidence) == 0 {
		return fail("published round carries no evidence (only its sha256), so it cannot be verified again")
	}
	c.count(r, e)
	return nil
}

// checkEntry checks the entry's bytes and its place in the chain.
func (c *chain) checkEntry(pos uint64, e Entry, r Record) error {
	if Hash(e.Canonical) != e.SHA256 {
		return errors.New("sha256 does not match the record bytes")
	}
	canon, err := r.Canonical()
	if err != nil || !bytes.Equal(canon, e.Canonical) {
		return errors.New("record bytes are not in canonical form")
	}
	if e.Index != pos {
		return fmt.Errorf("entry index is %d, want %d", e.Index, pos)
	}
	if r.Index != pos {
		return fmt.Errorf("record index is %d, want %d", r.Index, pos)
	}
	if pos == 0 {
		if r.Kind != KindGenesis {
			return fmt.Errorf("first record has kind %q, want %q", r.Kind, KindGenesis)
		}
		if r.Prev != GenesisPrev {
			return errors.New("genesis prev hash is not 64 zeros")
		}
		return nil
	}
	if r.Kind == KindGenesis {
		return errors.New("genesis record is not first")
	}
	if r.Prev != hex.EncodeToString(c.rep.Head[:]) {
		return fmt.Errorf("prev hash does not match record %d", pos-1)
	}
	return checkFollows(c.prev, r)
}

// checkModel checks a round's parent model and, if asked, its stored model.
func (c *chain) checkModel(r Record) error {
	if r.Kind != KindRound {
		return nil
	}
	if r.State == StatePublished || r.ParentSHA256 != "" {
		if err := c.checkParent(r.ParentSHA256); err != nil {
			return err
		}
	}
	if r.State != StatePublished || c.opts.ModelSHA256 == nil {
		return nil
	}
	sum, err := c.opts.ModelSHA256(r.Round)
	if err != nil {
		return fmt.Errorf("stored model: %w", err)
	}
	if got := hex.EncodeToString(sum[:]); got != r.ModelSHA256 {
		return fmt.Errorf("stored model hashes to %s, record says %s", got, r.ModelSHA256)
	}
	return nil
}

func (c *chain) checkParent(parent string) error {
	switch {
	case !c.published && parent != "":
		return fmt.Errorf("parent hash %s but no model was published before", parent)
	case c.published && parent != c.lastModel:
		return fmt.Errorf("parent hash %q does not match the previously published model %s", parent, c.lastModel)
	}
	return nil
}

func (c *chain) count(r Record, e Entry) {
	c.rep.Records++
	c.rep.Head = e.SHA256
	c.rep.Insecure = c.rep.Insecure || r.Insecure
	switch {
	case r.Kind == KindRound && r.State == StatePublished:
		c.rep.Published++
		c.published, c.lastModel = true, r.ModelSHA256
		if len(r.Evidence) == 0 {
			c.rep.WithoutEvidence++
		}
	case r.Kind == KindRound && r.State == StateFailed:
		c.rep.Failed++
	}
	c.prev = r
}
