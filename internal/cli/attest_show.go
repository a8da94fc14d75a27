package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/manifest"
)

const attestShowUsage = `Usage: confed attest show [--kind KIND] [--format text|json] EVIDENCE

Prints every field of TEE evidence (raw, or the evidence of a ledger record,
with the record's fields and the claims stored with it) in readable form.
It verifies NOTHING: use confed attest verify for that.

Flags (before EVIDENCE):
`

// showNotVerified heads every confed attest show output.
const showNotVerified = "NOT VERIFIED: this shows what the evidence says; confed attest verify checks it"

func attestShow(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed attest show", stderr)
	kind := fs.String("kind", "", "kind of raw evidence: "+kindChoices+" (default: guessed from its header)")
	format := addFormat(fs)
	refuseFormatO(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, attestShowUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: confed attest show [--kind KIND] EVIDENCE (flags before EVIDENCE; one EVIDENCE file)", errUsage)
	}
	path := fs.Arg(0)
	in, err := loadAttestInput(path)
	if err != nil {
		return err
	}
	if *kind != "" {
		k, err := kindName(*kind)
		if err != nil {
			return err
		}
		if in.ev.Kind != "" && in.ev.Kind != k {
			return fmt.Errorf("%w: --kind %s, but %s holds %s evidence", errUsage, k, path, in.ev.Kind)
		}
		in.ev.Kind = k
	}
	out := showResult{Note: showNotVerified}
	var describeErr error
	if r := in.record; r != nil {
		out.Record = recordFields(r)
		if len(r.Claims) > 0 {
			out.StoredClaims = r.Claims
		}
		if len(r.Evidence) == 0 {
			out.Problems = append(out.Problems, fmt.Sprintf("the record keeps only the sha256 of its evidence (%q), not the evidence", r.EvidenceSHA256))
		} else if got := sha256Hex(r.Evidence); got != r.EvidenceSHA256 {
			out.Problems = append(out.Problems, fmt.Sprintf("the evidence hashes to %s, not to the record's evidence_sha256 %s", got, r.EvidenceSHA256))
		}
	}
	if len(in.ev.Raw) > 0 {
		if in.ev.Kind == "" {
			if in.ev.Kind, err = detectKind(in.ev.Raw); err != nil {
				return err
			}
		}
		out.Evidence = &shownEvidence{Kind: in.ev.Kind, Size: len(in.ev.Raw), SHA256: sha256Hex(in.ev.Raw)}
		out.Evidence.Fields, describeErr = describeEvidence(in.ev)
		if describeErr != nil {
			out.Problems = append(out.Problems, "cannot show the evidence: "+describeErr.Error())
		}
	}
	if err := out.write(stdout, *format, path); err != nil {
		return err
	}
	if describeErr != nil {
		return fmt.Errorf("%s: %w", path, describeErr)
	}
	return nil
}

type showResult struct {
	Note         string            `json:"note"`
	Record       []field           `json:"ledger_record,omitempty"`
	StoredClaims map[string]string `json:"stored_claims,omitempty"`
	Evidence     *shownEvidence    `json:"evidence,omitempty"`
	Problems     []string          `json:"problems,omitempty"`
}

type shownEvidence struct {
	Kind   string  `json:"kind"`
	Size   int     `json:"size"`
	SHA256 string  `json:"sha256"`
	Fields []field `json:"fields"`
}

// recordFields lists a ledger record's fields, with what can be derived
// from them (the report data its evidence must carry).
func recordFields(r *ledger.Record) []field {
	f := []field{
		{"index", strconv.FormatUint(r.Index, 10)},
		{"kind", r.Kind},
		{"federation", r.Federation},
		{"round", strconv.FormatUint(r.Round, 10)},
		{"state", r.State},
		{"reason", r.Reason},
		{"time", r.Time.UTC().Format(time.RFC3339Nano)},
		{"config_sha256", r.ConfigSHA256},
		{"model_sha256", r.ModelSHA256},
		{"parent_sha256", r.ParentSHA256},
		{"model_size", strconv.FormatUint(r.ModelSize, 10)},
	}
	for i, p := range r.Participants {
		f = append(f, field{fmt.Sprintf("participants[%d]", i), fmt.Sprintf("%s, %d examples, update sha256 %s", p.Name, p.NumExamples, p.UpdateSHA256)})
	}
	f = append(f,
		field{"signer_public_key", hex.EncodeToString(r.SignerPublicKey)},
		field{"manifest", fmt.Sprintf("%d bytes", len(r.Manifest))},
		field{"signature", hex.EncodeToString(r.Signature)},
		field{"tee_kind", r.TEEKind},
		field{"insecure", strconv.FormatBool(r.Insecure)},
		field{"evidence_kind", r.EvidenceKind},
		field{"evidence_sha256", r.EvidenceSHA256},
		field{"evidence", fmt.Sprintf("%d bytes", len(r.Evidence))},
	)
	if len(r.SignerPublicKey) > 0 {
		rd := manifest.SigningKeyReportData(r.Federation, r.SignerPublicKey)
		f = append(f, field{"expected report data", hex.EncodeToString(rd[:]) + " (binds signer_public_key to the federation)"})
	}
	f = append(f, field{"prev", r.Prev})
	if c, err := r.Canonical(); err == nil {
		h := ledger.Hash(c)
		f = append(f, field{"record sha256", hex.EncodeToString(h[:])})
	}
	return f
}

func (s showResult) write(w io.Writer, format, path string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	var b strings.Builder
	fmt.Fprintln(&b, s.Note)
	if s.Record != nil {
		fmt.Fprintf(&b, "ledger record (%s):\n", path)
		writeFields(&b, "  ", s.Record)
		if s.StoredClaims != nil {
			b.WriteString("claims stored with the record (what the coordinator verified; not re-checked here):\n")
			writeFields(&b, "  ", claimFields(s.StoredClaims))
		}
	}
	if e := s.Evidence; e != nil {
		source := path
		if s.Record != nil {
			source = "the record's evidence"
		}
		fmt.Fprintf(&b, "%s evidence (%s, %d bytes, sha256 %s):\n", e.Kind, source, e.Size, e.SHA256)
		writeFields(&b, "  ", e.Fields)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(&b, "PROBLEM: %s\n", p)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
