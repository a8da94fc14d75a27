package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/manifest"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
)

// attestHooks replaces what the network and AMD/Intel would provide (trust
// anchors, key servers) in the verifiers of confed attest. Only tests set
// it, to the fakes of internal/tee/snp/snptest; production code never
// does, so the zero value (the real roots and key servers) is what users
// get. --at sets the clock on a copy.
var attestHooks provider.Hooks

func runAttest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "attest", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"verify": attestVerify,
		"show":   attestShow,
	})
}

const attestVerifyUsage = `Usage: confed attest verify --policy FILE [flags] [--format text|json] EVIDENCE

Verifies TEE evidence against an attestation policy and prints the verified
claims; exits 0 if it verifies, 1 (printing the failed check) if not.

EVIDENCE is either
  - a ledger record (one line of confed ledger show, for a published round):
    its evidence is checked against its evidence_sha256, and the report data
    must bind the record's manifest signing key to its federation; or
  - raw evidence as the platform's tools produce it: an SEV-SNP attestation
    report followed by its certificate table (what go-sev-guest's
    GetRawQuote returns; a bare 1184-byte report with --vcek), a TDX quote,
    an SGX report, an AWS Nitro attestation document (binary COSE_Sign1),
    an Azure Attestation token (JWT), an Arm CCA token (binary CBOR),
    NVIDIA GPU evidence (confed's JSON document), or simulated TEE
    evidence. The expected report data comes from --report-data or
    --ledger-record; without either it is taken from the evidence itself
    and NOT checked.

With --gpu, NVIDIA GPU evidence is verified too, against the policy's
nvidia-gpu section and with the same report data, and its claims are shown
with the CPU TEE's (a composite attestation).

Flags (before EVIDENCE):
`

func attestVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed attest verify", stderr)
	policyFile := fs.String("policy", "", "attestation policy (YAML: tee plus the section of that kind, as in a round file's tee section)")
	kind := fs.String("kind", "", "kind of raw evidence: "+kindChoices+" (default: the policy's tee)")
	var gpus []string
	fs.Func("gpu", "NVIDIA GPU evidence `FILE` to verify with the CPU TEE's evidence (repeatable; policy section nvidia-gpu)", func(s string) error {
		gpus = append(gpus, s)
		return nil
	})
	reportData := fs.String("report-data", "", "expected report data of raw evidence: 64 bytes in hex")
	recordFile := fs.String("ledger-record", "", "ledger record (a line of confed ledger show) that names raw EVIDENCE: its hash must match, and the report data must bind the record's signing key")
	vcek := fs.String("vcek", "", "VCEK or VLEK certificate (PEM or DER) for a bare SEV-SNP report without certificate table")
	at := fs.String("at", "", "check certificate validity as of this time (RFC 3339), e.g. when archived evidence was produced (revocation lists and Intel collateral are still today's)")
	insecure := fs.Bool("insecure-simulated-tee", false, "accept evidence of the INSECURE simulated TEE")
	format := addFormat(fs)
	refuseFormatO(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, attestVerifyUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: confed attest verify --policy FILE [flags] EVIDENCE (flags before EVIDENCE; one EVIDENCE file)", errUsage)
	}
	req := verifyRequest{policyFile: *policyFile, kind: *kind, reportData: *reportData, recordFile: *recordFile,
		vcek: *vcek, insecure: *insecure, gpus: gpus}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("%w: --at %q: want an RFC 3339 time such as 2026-03-01T12:00:00Z", errUsage, *at)
		}
		t = t.UTC()
		req.at = &t
	}
	res, err := runVerify(ctx, fs.Arg(0), req)
	if err != nil {
		return err
	}
	if err := res.write(stdout, *format); err != nil {
		return err
	}
	if !res.Verified {
		return fmt.Errorf("evidence does NOT verify (failed check: %s)", res.FailedCheck)
	}
	return nil
}

type verifyRequest struct {
	policyFile, kind, reportData, recordFile, vcek string
	insecure                                       bool
	at                                             *time.Time
	gpus                                           []string
}

// verifyResult is what confed attest verify prints.
type verifyResult struct {
	Verified bool `json:"verified"`
	// FailedCheck and Error say why it did not verify.
	FailedCheck string          `json:"failed_check,omitempty"`
	Error       string          `json:"error,omitempty"`
	Policy      string          `json:"policy"` // the kind the policy asks for
	Evidence    evidenceSummary `json:"evidence"`
	Record      *recordSummary  `json:"ledger_record,omitempty"`
	ReportData  *reportDataInfo `json:"report_data,omitempty"`
	// At is the time as of which certificates were checked, if fixed.
	At       string            `json:"at,omitempty"`
	Claims   map[string]string `json:"claims,omitempty"`
	Warnings []string          `json:"warnings,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
}

type evidenceSummary struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

type recordSummary struct {
	File            string `json:"file"`
	Index           uint64 `json:"index"`
	Round           uint64 `json:"round"`
	Federation      string `json:"federation"`
	State           string `json:"state"`
	ModelSHA256     string `json:"model_sha256"`
	SignerPublicKey string `json:"signer_public_key"`
	// SHA256 is the hash of the record's canonical form, by which the next
	// record of the chain names it.
	SHA256 string `json:"sha256"`
}

type reportDataInfo struct {
	Hex     string `json:"hex"`
	Checked bool   `json:"checked"`
	Source  string `json:"source"`
}

// Names of the checks confed attest verify reports as failed.
const (
	checkRecord       = "ledger record"
	checkEvidenceHash = "evidence hash"
	checkTEE          = "TEE evidence"
	checkStoredClaims = "ledger record claims"
	checkGPU          = "GPU evidence"
)

// runVerify does the work of confed attest verify. It returns an error for
// mistakes of the caller or unreadable input, and a result (verified or
// not) once there is something to check.
func runVerify(ctx context.Context, path string, req verifyRequest) (*verifyResult, error) {
	in, err := loadAttestInput(path)
	if err != nil {
		return nil, err
	}
	var k string
	if req.kind != "" {
		if k, err = kindName(req.kind); err != nil {
			return nil, err
		}
	}
	if in.record != nil && (req.recordFile != "" || req.reportData != "") {
		return nil, fmt.Errorf("%w: EVIDENCE %s is a ledger record, which fixes the report data: drop --ledger-record and --report-data", errUsage, path)
	}
	if req.recordFile != "" && req.reportData != "" {
		return nil, fmt.Errorf("%w: --ledger-record fixes the report data: drop --report-data", errUsage)
	}
	p, err := attestPolicy(req.policyFile, req.insecure)
	if err != nil {
		return nil, err
	}
	res := &verifyResult{Policy: p.Kind()}
	if p.Kind() == tee.KindNVGPU {
		if len(req.gpus) > 0 {
			return nil, fmt.Errorf("%w: --gpu adds GPU evidence to a CPU TEE's: the policy's tee must be the CPU TEE (sev-snp, tdx, ...), not nvidia-gpu", errUsage)
		}
		res.Notes = append(res.Notes, provider.CheckKind(tee.KindNVGPU, provider.Verify).Error())
	}
	hooks := attestHooks
	if req.at != nil {
		at := *req.at
		hooks.Now = func() time.Time { return at }
		res.At = at.Format(time.RFC3339Nano)
	}
	v, err := provider.Verifier(p, tee.Options{AllowInsecureSimulated: req.insecure}, hooks)
	if err != nil {
		return nil, err
	}
	record := in.record
	if req.recordFile != "" {
		if record, err = loadLedgerRecord(req.recordFile); err != nil {
			return nil, err
		}
	}

	// Which kind of evidence, and the expected report data.
	switch {
	case in.record != nil:
		if k != "" && k != in.ev.Kind {
			return nil, fmt.Errorf("%w: --kind %s, but ledger record %s holds %s evidence", errUsage, k, path, in.ev.Kind)
		}
	case in.ev.Kind != "":
		if k != "" && k != in.ev.Kind {
			return nil, fmt.Errorf("%w: --kind %s, but %s is %s evidence", errUsage, k, path, in.ev.Kind)
		}
	case k != "":
		in.ev.Kind = k
	case record != nil:
		in.ev.Kind = record.EvidenceKind
	default:
		in.ev.Kind = p.Kind()
	}
	res.Evidence = evidenceSummary{File: path, Kind: in.ev.Kind, Size: len(in.ev.Raw), SHA256: sha256Hex(in.ev.Raw)}
	if record != nil {
		res.Record = summarizeRecord(record, path)
		if req.recordFile != "" {
			res.Record.File = req.recordFile
		}
		if msg := checkLedgerRecord(record, in); msg != "" {
			return res.fail(checkRecord, msg), nil
		}
		if in.record == nil && (res.Evidence.SHA256 != record.EvidenceSHA256 || in.ev.Kind != record.EvidenceKind) {
			return res.fail(checkEvidenceHash, fmt.Sprintf("%s (%s, sha256 %s) is not the evidence ledger record %d names (%s, sha256 %s)",
				path, in.ev.Kind, res.Evidence.SHA256, record.Index, record.EvidenceKind, record.EvidenceSHA256)), nil
		}
	}
	if in.ev.Kind != p.Kind() {
		return res.fail(checkTEE, fmt.Sprintf("the policy requires %s evidence; this is %s evidence", p.Kind(), in.ev.Kind)), nil
	}
	if req.vcek != "" {
		if in.ev.Kind != tee.KindSEVSNP {
			return nil, fmt.Errorf("%w: --vcek applies to sev-snp evidence, not %s", errUsage, in.ev.Kind)
		}
		if in.ev.Raw, err = withEndorsementKey(in.ev.Raw, req.vcek); err != nil {
			return nil, err
		}
		res.Notes = append(res.Notes, "the VCEK/VLEK certificate of --vcek was added to the evidence; it must chain to the trusted roots like any other")
	}
	var rd [64]byte
	switch {
	case record != nil:
		rd = manifest.SigningKeyReportData(record.Federation, record.SignerPublicKey)
		res.ReportData = &reportDataInfo{Hex: hex.EncodeToString(rd[:]), Checked: true,
			Source: fmt.Sprintf("binds the manifest signing key of ledger record %d to federation %q", record.Index, record.Federation)}
	case req.reportData != "":
		if rd, err = parseReportData(req.reportData); err != nil {
			return nil, err
		}
		res.ReportData = &reportDataInfo{Hex: hex.EncodeToString(rd[:]), Checked: true, Source: "--report-data"}
	default:
		if rd, err = reportDataOf(in.ev); err != nil {
			if errors.Is(err, errUsage) {
				return nil, err
			}
			return res.fail(checkTEE, err.Error()), nil
		}
		res.ReportData = &reportDataInfo{Hex: hex.EncodeToString(rd[:]), Checked: false, Source: "read from the evidence itself"}
		res.Warnings = append(res.Warnings, "report data NOT checked: it was read from the evidence itself, so nothing here shows what the evidence binds (a key, a connection); pass --report-data HEX or --ledger-record FILE to check it")
	}

	// The evidence itself.
	claims, err := v.Verify(ctx, in.ev, rd)
	if err != nil {
		return res.fail(checkTEE, err.Error()), nil
	}
	if req.at != nil {
		// The hardware verifiers report the time they were given; the
		// simulated one, which checks no certificates, reads the clock.
		claims.VerifiedAt = *req.at
	}
	if len(req.gpus) > 0 {
		if claims, err = attachGPUs(ctx, p, hooks, req.gpus, claims, rd); err != nil {
			if errors.Is(err, errUsage) {
				return nil, err
			}
			return res.fail(checkGPU, err.Error()), nil
		}
	}
	res.Claims = ledger.ClaimsSummary(claims)
	for i, g := range claims.GPU {
		for k, v := range ledger.ClaimsSummary(g) {
			res.Claims[fmt.Sprintf("gpu[%d].%s", i, k)] = v
		}
	}
	if record != nil {
		if msg := compareStoredClaims(record, claims); msg != "" {
			return res.fail(checkStoredClaims, msg), nil
		}
		res.Notes = append(res.Notes, "only this record was checked, not its place in the ledger: run confed ledger verify and compare its head hash with one kept outside the coordinator")
	}
	if claims.Insecure {
		res.Warnings = append(res.Warnings, "INSECURE: simulated TEE evidence; anyone can write it for any key, so it proves nothing about the code or the machine")
	}
	if req.at == nil && record != nil && !claims.Insecure {
		res.Notes = append(res.Notes, fmt.Sprintf("certificates were checked as of now; to check them as of the round, pass --at %s", record.Time.UTC().Format(time.RFC3339)))
	}
	res.Verified = true
	return res, nil
}

// attestPolicy reads --policy; without one, only the INSECURE simulated TEE
// can be accepted, and only with --insecure-simulated-tee.
func attestPolicy(file string, insecure bool) (provider.Policy, error) {
	if file == "" {
		if !insecure {
			return provider.Policy{}, fmt.Errorf("%w: --policy FILE is required (or --insecure-simulated-tee for simulated TEE evidence)", errUsage)
		}
		return provider.Policy{TEE: "simulated"}, nil
	}
	return loadPolicy(file)
}

// checkLedgerRecord checks the record on its own and that it carries the
// evidence that in verifies. It returns what failed, or "".
func checkLedgerRecord(r *ledger.Record, in *attestInput) string {
	if r.Kind != ledger.KindRound || r.State != ledger.StatePublished {
		what := r.Kind
		if r.Kind == ledger.KindRound {
			what = r.State + " round"
		}
		return fmt.Sprintf("ledger record %d is a %s record; only published rounds carry evidence", r.Index, what)
	}
	if err := ledger.CheckRecord(*r); err != nil {
		return fmt.Sprintf("ledger record %d (round %d): %v", r.Index, r.Round, err)
	}
	if in.record != nil && len(r.Evidence) == 0 {
		return fmt.Sprintf("ledger record %d (round %d) keeps only the sha256 of its evidence (%s), not the evidence: pass the evidence file as EVIDENCE with --ledger-record", r.Index, r.Round, r.EvidenceSHA256)
	}
	return ""
}

// compareStoredClaims compares what the record says the coordinator
// verified with what was verified now. Verifier details may depend on the
// policy (e.g. TDX collateral), the time certainly does; the base claims
// come from the evidence alone and must agree.
func compareStoredClaims(r *ledger.Record, fresh tee.Claims) string {
	if fresh.Kind != r.TEEKind || fresh.Insecure != r.Insecure {
		return fmt.Sprintf("the evidence is %s (insecure=%v), the record says %s (insecure=%v)", fresh.Kind, fresh.Insecure, r.TEEKind, r.Insecure)
	}
	if len(r.Claims) == 0 {
		return ""
	}
	now := ledger.ClaimsSummary(fresh)
	for _, k := range []string{ledger.ClaimKind, ledger.ClaimInsecure, ledger.ClaimMeasurement, ledger.ClaimTCB, ledger.ClaimDebug} {
		if r.Claims[k] != now[k] {
			return fmt.Sprintf("the record's claims say %s %q, the evidence shows %q", k, r.Claims[k], now[k])
		}
	}
	return ""
}

func summarizeRecord(r *ledger.Record, file string) *recordSummary {
	s := &recordSummary{File: file, Index: r.Index, Round: r.Round, Federation: r.Federation, State: r.State,
		ModelSHA256: r.ModelSHA256, SignerPublicKey: hex.EncodeToString(r.SignerPublicKey)}
	if c, err := r.Canonical(); err == nil {
		h := ledger.Hash(c)
		s.SHA256 = hex.EncodeToString(h[:])
	}
	return s
}

func (res *verifyResult) fail(check, msg string) *verifyResult {
	res.Verified, res.FailedCheck, res.Error = false, check, msg
	return res
}

func (res *verifyResult) write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	var b strings.Builder
	switch {
	case res.Verified:
		fmt.Fprintf(&b, "VERIFIED: %s evidence meets the attestation policy\n", res.Evidence.Kind)
	case res.Evidence.Kind != "":
		fmt.Fprintf(&b, "NOT VERIFIED: %s evidence\n", res.Evidence.Kind)
	default:
		b.WriteString("NOT VERIFIED\n")
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n", w)
	}
	var rows []field
	if e := res.Evidence; e.Size > 0 {
		rows = append(rows, field{"evidence", fmt.Sprintf("%s: %s, %d bytes, sha256 %s", e.File, e.Kind, e.Size, e.SHA256)})
	}
	rows = append(rows, field{"policy", "tee " + res.Policy})
	if r := res.Record; r != nil {
		rows = append(rows, field{"ledger record", fmt.Sprintf("%s: index %d, round %d, federation %q, record sha256 %s", r.File, r.Index, r.Round, r.Federation, r.SHA256)})
		if r.ModelSHA256 != "" {
			rows = append(rows, field{"model", "sha256 " + r.ModelSHA256})
		}
		if r.SignerPublicKey != "" {
			rows = append(rows, field{"signer key", r.SignerPublicKey})
		}
	}
	if rd := res.ReportData; rd != nil {
		status := "checked"
		if !rd.Checked {
			status = "NOT CHECKED"
		}
		rows = append(rows, field{"report data", fmt.Sprintf("%s (%s: %s)", rd.Hex, status, rd.Source)})
	}
	if res.At != "" {
		rows = append(rows, field{"as of", res.At + " (--at)"})
	}
	if !res.Verified {
		rows = append(rows, field{"failed check", res.FailedCheck + ": " + res.Error})
	}
	writeFields(&b, "", rows)
	if res.Verified {
		b.WriteString("claims:\n")
		writeFields(&b, "  ", claimFields(res.Claims))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// claimFields orders a claims summary for display: the base claims, then
// the details by name.
func claimFields(m map[string]string) []field {
	base := ledger.ClaimKeys()
	var out []field
	for _, k := range base {
		if v, ok := m[k]; ok {
			out = append(out, field{k, v})
		}
	}
	var rest []string
	for k := range m {
		if !slices.Contains(base, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, field{k, m[k]})
	}
	return out
}

// writeFields writes name/value rows with the values aligned (and no
// trailing spaces after an empty value).
func writeFields(b *strings.Builder, indent string, rows []field) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r.Name))
	}
	for _, r := range rows {
		line := fmt.Sprintf("%s%-*s %s", indent, width+1, r.Name+":", r.Value)
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
}
