package reliability

import (
	"fmt"
	"math"
	"slices"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/model"
)

// StoreCheck is what VerifyStore found in a stopped coordinator's file.
type StoreCheck struct {
	Records, Published, Failed int
	// LastRound is the highest round in the ledger.
	LastRound uint64
	// FailReasons are the failed rounds' reasons, oldest first.
	FailReasons []string
	// Models is how many stored models were decoded and found finite.
	Models int
}

// VerifyStore opens a stopped coordinator's bbolt file and checks, as
// `confed ledger verify --db` does, that the ledger verifies (canonical
// records, hash chain, manifest signatures, parents, evidence) against the
// stored models, re-hashed; and beyond that, that every stored model
// decodes, with the round's shape, to finite values, that no published
// record names a participant twice, and that every failed round records a
// reason.
func VerifyStore(path string, spec model.Spec) (StoreCheck, error) {
	var c StoreCheck
	st, err := store.Open(path, store.Options{})
	if err != nil {
		return c, fmt.Errorf("opening the store after the fault: %w", err)
	}
	defer st.Close()
	rep, err := st.VerifyLedger()
	if err != nil {
		return c, err
	}
	c.Records, c.Published, c.Failed = rep.Records, rep.Published, rep.Failed
	entries, err := st.Ledger()
	if err != nil {
		return c, err
	}
	for _, e := range entries {
		rec, err := ledger.Parse(e.Canonical)
		if err != nil {
			return c, fmt.Errorf("ledger record %d: %w", e.Index, err)
		}
		c.LastRound = max(c.LastRound, rec.Round)
		switch rec.State {
		case ledger.StateFailed:
			if rec.Reason == "" {
				return c, fmt.Errorf("ledger record %d: round %d failed without a reason", e.Index, rec.Round)
			}
			c.FailReasons = append(c.FailReasons, fmt.Sprintf("round %d: %s", rec.Round, rec.Reason))
		case ledger.StatePublished:
			var seen []string
			for _, p := range rec.Participants {
				if slices.Contains(seen, p.Name) {
					return c, fmt.Errorf("ledger record %d: round %d includes %q twice", e.Index, rec.Round, p.Name)
				}
				seen = append(seen, p.Name)
			}
			if err := checkStoredModel(st, rec.Round, spec); err != nil {
				return c, err
			}
			c.Models++
		}
	}
	return c, nil
}

// checkStoredModel decodes the model stored for round r.
func checkStoredModel(st *store.Store, r uint64, spec model.Spec) error {
	mr, err := st.OpenModel(r)
	if err != nil {
		return fmt.Errorf("round %d's model: %w", r, err)
	}
	m, err := model.ReadSafetensors(mr, model.Limits{MaxTotalBytes: model.SafetensorsSize(spec)})
	if err != nil {
		return fmt.Errorf("round %d's model does not decode: %w", r, err)
	}
	if err := m.Spec().Equal(spec); err != nil {
		return fmt.Errorf("round %d's model: %w", r, err)
	}
	for _, t := range m.Tensors {
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("round %d's model: %s[%d] is %v", r, t.Name, i, v)
			}
		}
	}
	return nil
}
