package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	spb "github.com/google/go-sev-guest/proto/sevsnp"
	tdxtestdata "github.com/google/go-tdx-guest/testing/testdata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/manifest"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/tee/simulated"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/snp/snptest"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/attest")

// The fake AMD chain is made at snpCreated and the evidence verified as of
// snpAt (--at), so that no output depends on the clock.
var snpCreated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const snpAt = "2026-03-01T12:00:00Z"

// The simulated federation's round 0 is published at recordTime.
var recordTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const recordAt = "2026-03-01T12:01:00Z"

// confed runs the confed command line (through Main, so the registration
// of "attest" is tested too) and returns its exit status and output.
func confed(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// snpFixture is a fake AMD chip, its evidence for the report data rd in
// snp.bin, and policies in the current directory (a fresh temporary one):
// snp-policy.yaml accepts it, snp-other-measurement.yaml allows only
// another measurement. It points attestHooks at the fake for the test.
type snpFixture struct {
	fake *snptest.Fake
	raw  []byte
	rd   [64]byte
}

func newSNPFixture(t *testing.T) *snpFixture {
	t.Helper()
	t.Chdir(t.TempDir())
	fake := snptest.New(t, snptest.Options{CreatedAt: snpCreated})
	attestHooks = provider.Hooks{SNP: fake.VerifierOptions()}
	t.Cleanup(func() { attestHooks = provider.Hooks{} })
	f := &snpFixture{fake: fake, rd: tee.ReportData("confed/test/attest", []byte("golden"))}
	g := fake.Guest()
	g.Modify = func(r *spb.Report) { r.ReportId = bytes.Repeat([]byte{0x11}, 32) } // not random
	var err error
	if f.raw, err = fake.Quote(g, f.rd); err != nil {
		t.Fatal(err)
	}
	writeFile(t, "snp.bin", f.raw)
	writeFile(t, "snp-policy.yaml", []byte(snpPolicyYAML(hex.EncodeToString(snptest.DefaultMeasurement[:]), "")))
	writeFile(t, "snp-other-measurement.yaml", []byte(snpPolicyYAML(strings.Repeat("ab", 48), "")))
	return f
}

func snpPolicyYAML(measurement, collateral string) string {
	return `tee: sev-snp
sev-snp:
  measurements: ["` + measurement + `"]
  minimum_tcb: {bootloader: 3, tee: 0, snp: 14, microcode: 209}
  allow_smt: true
  product: Milan
` + collateral
}

// placeholders replaces what differs from run to run in the fake's
// evidence: go-sev-guest's test chain draws its certificate signatures from
// a random source shared by the whole test binary, and the report's ECDSA
// signature is randomised. Everything else is fixed.
func (f *snpFixture) placeholders(t *testing.T, s string) string {
	t.Helper()
	fields, err := snp.Describe(f.raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range fields {
		if fl.Name == "signature" {
			s = strings.ReplaceAll(s, fl.Value, "<report signature>")
		}
	}
	return strings.ReplaceAll(s, sha256Hex(f.raw), "<evidence sha256>")
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkGolden compares a command's outcome with testdata/attest/NAME.golden
// (rewritten with -update).
func checkGolden(t *testing.T, name string, args []string, code int, stdout, stderr string) {
	t.Helper()
	got := "$ confed " + strings.Join(args, " ") + "\nexit status " + strconv.Itoa(code) + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr
	path := filepath.Join(goldenDir, name+".golden")
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it)\n--- got\n%s\n--- want\n%s", path, t.Name(), got, want)
	}
}

// goldenDir is absolute: the tests change directory.
var goldenDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "testdata", "attest")
}()

func TestAttestGoldenSEVSNP(t *testing.T) {
	f := newSNPFixture(t)
	rd := hex.EncodeToString(f.rd[:])
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"snp-verify", []string{"attest", "verify", "--policy", "snp-policy.yaml", "--report-data", rd, "--at", snpAt, "snp.bin"}, 0},
		{"snp-verify-json", []string{"attest", "verify", "--policy", "snp-policy.yaml", "--report-data", rd, "--at", snpAt, "--format", "json", "snp.bin"}, 0},
		{"snp-verify-report-data-unchecked", []string{"attest", "verify", "--policy", "snp-policy.yaml", "--at", snpAt, "snp.bin"}, 0},
		{"snp-refused-measurement", []string{"attest", "verify", "--policy", "snp-other-measurement.yaml", "--report-data", rd, "--at", snpAt, "snp.bin"}, 1},
		{"snp-show", []string{"attest", "show", "snp.bin"}, 0},
		{"snp-show-old-o", []string{"attest", "show", "-o", "json", "snp.bin"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := confed(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			checkGolden(t, tt.name, tt.args, code, f.placeholders(t, stdout), f.placeholders(t, stderr))
		})
	}
}

// simulatedLedger is a genesis record and the record of round 0 of
// federation heart-disease, published by an aggregator in the simulated
// TEE, built the way the coordinator builds them.
func simulatedLedger(t *testing.T) []ledger.Entry {
	t.Helper()
	opts := tee.Options{AllowInsecureSimulated: true}
	iss, err := simulated.NewIssuerWithMeasurement(opts, sha256.Sum256([]byte("confed-aggregator")))
	if err != nil {
		t.Fatal(err)
	}
	v, err := provider.SimulatedVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	return buildLedger(t, iss, v)
}

// buildLedger is a genesis record and the record of round 0, published by
// an aggregator whose TEE is iss and whose evidence the coordinator
// verified with v.
func buildLedger(t *testing.T, iss tee.Issuer, v tee.Verifier) []ledger.Entry {
	t.Helper()
	ctx := context.Background()
	const federation = "heart-disease"
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	ev, err := iss.Issue(ctx, manifest.SigningKeyReportData(federation, key.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	model, config := sha256.Sum256([]byte("model 0")), sha256.Sum256([]byte("round config"))
	signed, err := (&manifest.Signer{Key: key, Evidence: ev}).Sign(&confedv1.ModelManifest{
		Federation: federation, Round: 0, ModelSha256: model[:], ModelSize: 1000, ConfigSha256: config[:],
		TeeKind: ev.Kind, Insecure: ev.Kind == tee.KindSimulated, CreatedAt: timestamppb.New(recordTime), Strategy: "fedavg",
	})
	if err != nil {
		t.Fatal(err)
	}
	verified, err := manifest.Verify(ctx, signed, v, federation)
	if err != nil {
		t.Fatal(err)
	}
	verified.Claims.VerifiedAt = recordTime
	genesis, err := ledger.Next(nil, ledger.Record{Kind: ledger.KindGenesis, Federation: federation,
		ConfigSHA256: hex.EncodeToString(config[:]), TEEKind: verified.Claims.Kind, Insecure: verified.Claims.Insecure, Time: recordTime})
	if err != nil {
		t.Fatal(err)
	}
	round0, err := ledger.Next(&genesis, ledger.Record{
		Kind: ledger.KindRound, Federation: federation, Round: 0, State: ledger.StatePublished, Reason: "initial model",
		ConfigSHA256: hex.EncodeToString(config[:]), ModelSHA256: hex.EncodeToString(model[:]), ModelSize: 1000,
		Manifest: signed.GetManifest(), Signature: signed.GetSignature(), SignerPublicKey: signed.GetSignerPublicKey(),
		TEEKind: verified.Claims.Kind, Insecure: verified.Claims.Insecure,
		EvidenceKind: ev.Kind, EvidenceSHA256: sha256Hex(ev.Raw), Evidence: ev.Raw,
		Claims: ledger.ClaimsSummary(verified.Claims), Time: recordTime.Add(time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	return []ledger.Entry{genesis, round0}
}

// writeRecord writes a record as confed ledger show prints it.
func writeRecord(t *testing.T, name string, canonical []byte) {
	t.Helper()
	writeFile(t, name, append(bytes.Clone(canonical), '\n'))
}

func TestAttestGoldenSimulatedLedgerRecord(t *testing.T) {
	t.Chdir(t.TempDir())
	entries := simulatedLedger(t)
	writeRecord(t, "record.json", entries[1].Canonical)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"simulated-record-verify", []string{"attest", "verify", "--insecure-simulated-tee", "--at", recordAt, "record.json"}, 0},
		{"simulated-record-show", []string{"attest", "show", "record.json"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := confed(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			checkGolden(t, tt.name, tt.args, code, stdout, stderr)
		})
	}
}

// TestAttestLedgerRecordRefusals: whatever in a record or next to it does
// not fit is refused, naming the failed check.
func TestAttestLedgerRecordRefusals(t *testing.T) {
	t.Chdir(t.TempDir())
	entries := simulatedLedger(t)
	rec, err := ledger.Parse(entries[1].Canonical)
	if err != nil {
		t.Fatal(err)
	}
	encode := func(f func(r *ledger.Record)) []byte {
		r, err := ledger.Parse(entries[1].Canonical)
		if err != nil {
			t.Fatal(err)
		}
		f(&r)
		c, err := r.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	forged, err := (&simulatedIssuer{}).issue(manifest.SigningKeyReportData("heart-disease", otherKey.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	writeRecord(t, "record.json", entries[1].Canonical)
	writeFile(t, "evidence.json", rec.Evidence)
	writeFile(t, "other-evidence.json", forged)
	writeRecord(t, "genesis.json", entries[0].Canonical)
	writeRecord(t, "flipped.json", encode(func(r *ledger.Record) { r.Evidence[len(r.Evidence)-3] ^= 1 }))
	// Evidence for another key, with the record's hash and claims updated
	// to match: the record is consistent, the binding is not.
	writeRecord(t, "swapped.json", encode(func(r *ledger.Record) { r.Evidence, r.EvidenceSHA256 = forged, sha256Hex(forged) }))
	writeRecord(t, "claims.json", encode(func(r *ledger.Record) { r.Claims[ledger.ClaimMeasurement] = strings.Repeat("00", 32) }))
	writeRecord(t, "legacy.json", encode(func(r *ledger.Record) { r.Evidence, r.Claims = nil, nil }))
	writeRecord(t, "signature.json", encode(func(r *ledger.Record) { r.Signature[0] ^= 1 }))
	writeFile(t, "sim.yaml", []byte("tee: simulated\n"))
	writeFile(t, "snp.yaml", []byte(snpPolicyYAML(hex.EncodeToString(snptest.DefaultMeasurement[:]), "")))
	writeFile(t, "two-records.json", append(append(bytes.Clone(entries[0].Canonical), '\n'), entries[1].Canonical...))

	tests := []struct {
		name   string
		args   []string
		code   int
		check  string // the failed check, as printed
		want   string
		secure bool // without --insecure-simulated-tee
	}{
		{"valid", []string{"record.json"}, 0, "", "VERIFIED: simulated-insecure evidence", false},
		{"raw evidence named by the record", []string{"--ledger-record", "record.json", "evidence.json"}, 0, "", "checked: binds the manifest signing key of ledger record 1", false},
		{"raw evidence of a legacy record", []string{"--ledger-record", "legacy.json", "evidence.json"}, 0, "", "VERIFIED", false},
		{"evidence byte flipped", []string{"flipped.json"}, 1, checkRecord, "ledger record 1 (round 0): evidence_sha256 " + rec.EvidenceSHA256 + " does not match the evidence", false},
		{"evidence of another key", []string{"swapped.json"}, 1, checkTEE, "simulated evidence: report data does not bind the expected key and context", false},
		{"claims disagree", []string{"claims.json"}, 1, checkStoredClaims, `the record's claims say measurement "0000`, false},
		{"bad manifest signature", []string{"signature.json"}, 1, checkRecord, "manifest signature does not verify", false},
		{"other raw evidence", []string{"--ledger-record", "record.json", "other-evidence.json"}, 1, checkEvidenceHash, "is not the evidence ledger record 1 names", false},
		{"record without evidence", []string{"legacy.json"}, 1, checkRecord, "keeps only the sha256 of its evidence", false},
		{"genesis record", []string{"genesis.json"}, 1, checkRecord, "ledger record 0 is a genesis record; only published rounds carry evidence", false},
		{"several records", []string{"two-records.json"}, 1, "", "holds more than one JSON document", false},
		{"insecure not allowed", []string{"record.json"}, 2, "", "--policy FILE is required", true},
		{"simulated policy, insecure not allowed", []string{"--policy", "sim.yaml", "record.json"}, 1, "", "simulated TEE evidence refused", true},
		{"record against a hardware policy", []string{"--policy", "snp.yaml", "record.json"}, 1, checkTEE, "the policy requires sev-snp evidence; this is simulated-insecure evidence", true},
		{"record and report data", []string{"--report-data", strings.Repeat("00", 64), "record.json"}, 2, "", "drop --ledger-record and --report-data", false},
		{"record and another kind", []string{"--kind", "tdx", "record.json"}, 2, "", "--kind tdx, but ledger record record.json holds simulated-insecure evidence", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"attest", "verify", "--at", recordAt}, tt.args...)
			if !tt.secure {
				args = append([]string{"attest", "verify", "--insecure-simulated-tee", "--at", recordAt}, tt.args...)
			}
			code, stdout, stderr := confed(t, args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", tt.want, stdout, stderr)
			}
			if got := failedCheck(stdout); tt.check != "" && !strings.HasPrefix(got, tt.check+": ") {
				t.Errorf("stdout does not name the failed check %q:\n%s", tt.check, stdout)
			}
		})
	}
}

// TestAttestSEVSNPLedgerRecord: the record of a round published by an
// aggregator on the fake SEV-SNP chip verifies against the policy as of
// the round, and not against a stricter one or before the chain existed.
func TestAttestSEVSNPLedgerRecord(t *testing.T) {
	f := newSNPFixture(t)
	v, err := snp.NewVerifier(f.fake.Policy(), f.fake.VerifierOptions())
	if err != nil {
		t.Fatal(err)
	}
	entries := buildLedger(t, f.fake.Issuer(), v)
	writeRecord(t, "record.json", entries[1].Canonical)
	code, stdout, stderr := confed(t, "attest", "verify", "--policy", "snp-policy.yaml", "--at", snpAt, "record.json")
	if code != 0 || !strings.Contains(stdout, "VERIFIED: sev-snp evidence") || !strings.Contains(stdout, "checked: binds the manifest signing key of ledger record 1") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, _ = confed(t, "attest", "verify", "--policy", "snp-policy.yaml", "record.json")
	if code != 0 || !strings.Contains(stdout, "note: certificates were checked as of now; to check them as of the round, pass --at 2026-03-01T12:01:00Z") {
		t.Errorf("without --at: exit %d\nstdout:\n%s", code, stdout)
	}
	code, stdout, _ = confed(t, "attest", "verify", "--policy", "snp-other-measurement.yaml", "--at", snpAt, "record.json")
	if code != 1 || !strings.HasPrefix(failedCheck(stdout), checkTEE+": sev-snp: measurement") {
		t.Errorf("other measurement: exit %d\nstdout:\n%s", code, stdout)
	}
	code, stdout, _ = confed(t, "attest", "verify", "--policy", "snp-policy.yaml", "--at", "2025-06-01T00:00:00Z", "record.json")
	if code != 1 || !strings.HasPrefix(failedCheck(stdout), checkTEE+": sev-snp: certificate chain") {
		t.Errorf("before the chain existed: exit %d\nstdout:\n%s", code, stdout)
	}
	code, stdout, _ = confed(t, "attest", "show", "record.json")
	if code != 0 || !strings.Contains(stdout, "sev-snp evidence (the record's evidence") || !strings.Contains(stdout, "  chip_id:") {
		t.Errorf("show: exit %d\nstdout:\n%s", code, stdout)
	}
}

// simulatedIssuer issues simulated evidence with the fixture's measurement.
type simulatedIssuer struct{}

func (simulatedIssuer) issue(rd [64]byte) ([]byte, error) {
	iss, err := simulated.NewIssuerWithMeasurement(tee.Options{AllowInsecureSimulated: true}, sha256.Sum256([]byte("confed-aggregator")))
	if err != nil {
		return nil, err
	}
	ev, err := iss.Issue(context.Background(), rd)
	return ev.Raw, err
}

func TestAttestVerifySEVSNPChecks(t *testing.T) {
	f := newSNPFixture(t)
	rd := hex.EncodeToString(f.rd[:])
	bare, err := f.fake.Quote(withReportID(f.fake.Guest(), true), f.rd)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, "bare.bin", bare)
	writeFile(t, "vcek.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.fake.Signer.Vcek.Raw}))
	writeFile(t, "ask.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.fake.Signer.Ask.Raw}))
	offline := "  collateral: {offline: true, check_revocations: false}\n"
	writeFile(t, "offline.yaml", []byte(snpPolicyYAML(hex.EncodeToString(snptest.DefaultMeasurement[:]), offline)))
	debug := f.fake.Guest()
	debug.Policy |= 1 << 19
	debugRaw, err := f.fake.Quote(debug, f.rd)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, "debug.bin", debugRaw)
	flipped := bytes.Clone(f.raw)
	flipped[0x90] ^= 1 // in the measurement, which the signature covers
	writeFile(t, "flipped.bin", flipped)

	tests := []struct {
		name  string
		args  []string
		code  int
		check string
		want  string
	}{
		{"wrong report data", []string{"--policy", "snp-policy.yaml", "--report-data", strings.Repeat("00", 64), "snp.bin"}, 1, checkTEE, "sev-snp: report data does not bind this connection"},
		{"before the chain existed", []string{"--policy", "snp-policy.yaml", "--report-data", rd, "--at", "2025-12-01T00:00:00Z", "snp.bin"}, 1, checkTEE, "sev-snp: certificate chain"},
		{"debug guest", []string{"--policy", "snp-policy.yaml", "--report-data", rd, "debug.bin"}, 1, checkTEE, "sev-snp: debug guest refused"},
		{"signature broken", []string{"--policy", "snp-policy.yaml", "--report-data", rd, "flipped.bin"}, 1, checkTEE, "sev-snp: report signature does not verify"},
		{"bare report offline", []string{"--policy", "offline.yaml", "--report-data", rd, "bare.bin"}, 1, checkTEE, "sev-snp: certificate chain: missing VCEK certificate"},
		{"bare report with --vcek", []string{"--policy", "offline.yaml", "--report-data", rd, "--vcek", "vcek.pem", "bare.bin"}, 0, "", "VERIFIED: sev-snp evidence"},
		{"--vcek not a VCEK", []string{"--policy", "offline.yaml", "--report-data", rd, "--vcek", "ask.pem", "bare.bin"}, 2, "", "neither a VCEK"},
		{"--vcek with a certificate table", []string{"--policy", "snp-policy.yaml", "--report-data", rd, "--vcek", "vcek.pem", "snp.bin"}, 2, "", "--vcek applies to a bare 1184-byte SEV-SNP report"},
		{"--kind against the policy", []string{"--policy", "snp-policy.yaml", "--kind", "tdx", "snp.bin"}, 1, checkTEE, "the policy requires sev-snp evidence; this is tdx evidence"},
		{"report data too short", []string{"--policy", "snp-policy.yaml", "--report-data", "abcd", "snp.bin"}, 2, "", "--report-data: want 128 hex characters"},
		{"bad --at", []string{"--policy", "snp-policy.yaml", "--at", "yesterday", "snp.bin"}, 2, "", "--at \"yesterday\""},
		{"bad --format", []string{"--policy", "snp-policy.yaml", "--format", "yaml", "snp.bin"}, 2, "", "want text or json"},
		{"old -o json", []string{"--policy", "snp-policy.yaml", "-o", "json", "snp.bin"}, 2, "", "-o names an output file in confed; for JSON output use --format json"},
		{"no evidence", []string{"--policy", "snp-policy.yaml"}, 2, "", "confed attest verify --policy FILE"},
		{"missing policy file", []string{"--policy", "nope.yaml", "snp.bin"}, 1, "", "nope.yaml"},
		{"simulated policy, insecure not allowed", []string{"--policy", "sim.yaml", "snp.bin"}, 1, "", "simulated TEE evidence refused"},
	}
	writeFile(t, "sim.yaml", []byte("tee: simulated\n"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"attest", "verify"}, tt.args...)
			code, stdout, stderr := confed(t, args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", tt.want, stdout, stderr)
			}
			if got := failedCheck(stdout); tt.check != "" && !strings.HasPrefix(got, tt.check+": ") {
				t.Errorf("stdout does not name the failed check %q:\n%s", tt.check, stdout)
			}
		})
	}
}

// failedCheck returns the value of the "failed check:" line of verify's
// text output.
func failedCheck(stdout string) string {
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "failed check:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func withReportID(g snptest.Guest, bare bool) snptest.Guest {
	g.Modify = func(r *spb.Report) { r.ReportId = bytes.Repeat([]byte{0x11}, 32) }
	g.OmitCertTable = bare
	return g
}

// TestAttestVerifyJSONRefusal: --format json reports a refusal as data too.
func TestAttestVerifyJSONRefusal(t *testing.T) {
	newSNPFixture(t)
	code, stdout, _ := confed(t, "attest", "verify", "--policy", "snp-other-measurement.yaml", "--format", "json", "snp.bin")
	if code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	var res struct {
		Verified    bool   `json:"verified"`
		FailedCheck string `json:"failed_check"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if res.Verified || res.FailedCheck != checkTEE || !strings.Contains(res.Error, "not in the allowed list") {
		t.Errorf("result = %+v", res)
	}
}

// TestAttestTDXSampleQuote verifies go-tdx-guest's recorded production
// quote offline (signature and PCK chain to Intel's pinned root), as of a
// date on which its certificates are valid, and shows it.
func TestAttestTDXSampleQuote(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFile(t, "quote.dat", tdxtestdata.RawQuote)
	fields, err := describeEvidence(tee.Evidence{Kind: tee.KindTDX, Raw: tdxtestdata.RawQuote})
	if err != nil {
		t.Fatal(err)
	}
	var mrtd, rd string
	for _, f := range fields {
		switch f.Name {
		case "body.mr_td":
			mrtd = f.Value
		case "body.report_data":
			rd = f.Value
		}
	}
	writeFile(t, "tdx.yaml", []byte("tee: tdx\ntdx:\n  mrtd: [\""+mrtd+"\"]\n  collateral: {offline: true}\n"))
	code, stdout, stderr := confed(t, "attest", "verify", "--policy", "tdx.yaml", "--report-data", rd, "--at", "2023-07-01T01:00:00Z", "quote.dat")
	if code != 0 || !strings.Contains(stdout, "VERIFIED: tdx evidence") || !strings.Contains(stdout, "measurement: ") || !strings.Contains(stdout, mrtd) {
		t.Errorf("verify: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = confed(t, "attest", "verify", "--policy", "tdx.yaml", "--report-data", rd, "--at", "2031-01-01T00:00:00Z", "quote.dat")
	if code != 1 || !strings.HasPrefix(failedCheck(stdout), "TEE evidence: tdx: quote verification failed") {
		t.Errorf("verify after the PCK certificate expired: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = confed(t, "attest", "show", "quote.dat")
	if code != 0 || !strings.Contains(stdout, "tdx evidence (quote.dat") || !strings.Contains(stdout, "body.mr_td:") {
		t.Errorf("show: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestAttestShowRefuses(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFile(t, "garbage.bin", bytes.Repeat([]byte{0xee}, 2000))
	writeFile(t, "other.json", []byte(`{"hello": "world"}`))
	writeFile(t, "short.bin", make([]byte, 100))
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"garbage.bin"}, 2, "cannot tell what kind of evidence this is"},
		{[]string{"--kind", "sev-snp", "garbage.bin"}, 1, "sev-snp: malformed evidence"},
		{[]string{"--kind", "sgx", "short.bin"}, 1, "this build cannot describe SGX reports"},
		{[]string{"--kind", "nitro", "short.bin"}, 2, `--kind "nitro"`},
		{[]string{"other.json"}, 1, "neither a ledger record, simulated TEE evidence nor NVIDIA GPU evidence"},
		{[]string{"missing.bin"}, 1, "missing.bin"},
		{[]string{}, 2, "confed attest show"},
	}
	for _, tt := range tests {
		code, stdout, stderr := confed(t, append([]string{"attest", "show"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
			t.Errorf("attest show %v: exit %d (want %d), output lacks %q?\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, tt.want, stdout, stderr)
		}
	}
}

// TestAttestHooksUnsetInProduction: nothing but tests sets attestHooks.
func TestAttestHooksUnsetInProduction(t *testing.T) {
	if attestHooks.SNP.TrustedRoots != nil || attestHooks.SNP.Getter != nil || attestHooks.TDX.TrustedRoots != nil || attestHooks.Now != nil {
		t.Fatal("attestHooks is set outside a test")
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(src, []byte("attestHooks =")) || bytes.Contains(src, []byte("attestHooks.SNP =")) {
			t.Errorf("%s assigns attestHooks; only tests may", f)
		}
	}
}
