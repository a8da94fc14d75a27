package ledger

import (
	"encoding/hex"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/internal/manifest"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// simulatedTEEKind is the Evidence.kind of the insecure simulated TEE.
const simulatedTEEKind = "simulated-insecure"

// checkRecord checks everything about r that needs no other record.
func checkRecord(r Record) error {
	if r.Time.IsZero() {
		return errors.New("time is missing")
	}
	if err := checkHexFields(r); err != nil {
		return err
	}
	if r.TEEKind == simulatedTEEKind && !r.Insecure {
		return fmt.Errorf("tee_kind %q requires insecure=true", r.TEEKind)
	}
	switch r.Kind {
	case KindGenesis:
		return checkGenesis(r)
	case KindRound:
		return checkRound(r)
	default:
		return fmt.Errorf("unknown kind %q", r.Kind)
	}
}

func checkHexFields(r Record) error {
	fields := []struct{ name, v string }{
		{"config_sha256", r.ConfigSHA256},
		{"model_sha256", r.ModelSHA256},
		{"parent_sha256", r.ParentSHA256},
		{"evidence_sha256", r.EvidenceSHA256},
	}
	for _, f := range fields {
		if f.v != "" && !isHash(f.v) {
			return fmt.Errorf("%s %q is not a lowercase hex SHA-256", f.name, f.v)
		}
	}
	for i, p := range r.Participants {
		if !isHash(p.UpdateSHA256) {
			return fmt.Errorf("participant %d (%q): update_sha256 %q is not a lowercase hex SHA-256", i, p.Name, p.UpdateSHA256)
		}
	}
	if !isHash(r.Prev) {
		return fmt.Errorf("prev %q is not a lowercase hex SHA-256", r.Prev)
	}
	return nil
}

// isHash reports whether s is 64 lowercase hex digits.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func hasModelFields(r Record) bool {
	return r.ModelSHA256 != "" || r.ModelSize != 0 || len(r.Manifest) > 0 ||
		len(r.Signature) > 0 || len(r.SignerPublicKey) > 0
}

func checkGenesis(r Record) error {
	switch {
	case r.Round != 0:
		return fmt.Errorf("genesis record has round %d, want 0", r.Round)
	case r.State != "":
		return fmt.Errorf("genesis record has state %q", r.State)
	case hasModelFields(r) || r.ParentSHA256 != "":
		return errors.New("genesis record carries model fields")
	case len(r.Participants) > 0:
		return errors.New("genesis record lists participants")
	case hasEvidenceFields(r):
		return errors.New("genesis record carries evidence fields")
	}
	return nil
}

func checkRound(r Record) error {
	switch r.State {
	case StatePublished:
		return checkPublished(r)
	case StateFailed:
		if hasModelFields(r) {
			return errors.New("failed round carries model fields")
		}
		if hasEvidenceFields(r) {
			return errors.New("failed round carries evidence fields")
		}
		return nil
	default:
		return fmt.Errorf("unknown state %q", r.State)
	}
}

// checkPublished checks a published round's signature, that its signed
// manifest agrees with the record, and its evidence fields.
func checkPublished(r Record) error {
	if r.ModelSHA256 == "" {
		return errors.New("published round has no model_sha256")
	}
	if len(r.Manifest) == 0 {
		return errors.New("published round has no manifest")
	}
	if err := manifest.VerifySignature(r.SignerPublicKey, r.Manifest, r.Signature); err != nil {
		return err
	}
	var m confedv1.ModelManifest
	if err := proto.Unmarshal(r.Manifest, &m); err != nil {
		return fmt.Errorf("manifest does not decode: %w", err)
	}
	if err := compareManifest(&m, r); err != nil {
		return err
	}
	return checkEvidence(r)
}

// compareManifest reports the first manifest field that differs from the
// record.
func compareManifest(m *confedv1.ModelManifest, r Record) error {
	type field struct {
		name      string
		got, want any
	}
	fields := []field{
		{"federation", m.GetFederation(), r.Federation},
		{"round", m.GetRound(), r.Round},
		{"model_sha256", hex.EncodeToString(m.GetModelSha256()), r.ModelSHA256},
		{"model_size", m.GetModelSize(), r.ModelSize},
		{"parent_sha256", hex.EncodeToString(m.GetParentSha256()), r.ParentSHA256},
		{"config_sha256", hex.EncodeToString(m.GetConfigSha256()), r.ConfigSHA256},
		{"tee_kind", m.GetTeeKind(), r.TEEKind},
		{"insecure", m.GetInsecure(), r.Insecure},
	}
	for _, f := range fields {
		if f.got != f.want {
			return fmt.Errorf("manifest %s %v does not match record %v", f.name, quote(f.got), quote(f.want))
		}
	}
	if err := compareContributions(m.GetContributions(), r.Participants); err != nil {
		return err
	}
	return compareTree(m, r)
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

func compareContributions(cs []*confedv1.Contribution, ps []Participant) error {
	if len(cs) != len(ps) {
		return fmt.Errorf("manifest lists %d contributions, record %d participants", len(cs), len(ps))
	}
	for i, c := range cs {
		got := Participant{c.GetParticipant(), c.GetNumExamples(), hex.EncodeToString(c.GetUpdateSha256())}
		if got != ps[i] {
			return fmt.Errorf("manifest contribution %d %+v does not match record participant %+v", i, got, ps[i])
		}
	}
	return nil
}
