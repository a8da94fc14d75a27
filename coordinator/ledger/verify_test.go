package ledger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/tee"
)

func TestVerifyValidChain(t *testing.T) {
	entries := validChain(t)
	rep, err := ledger.Verify(entries, ledger.VerifyOptions{ModelSHA256: storedModels})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := ledger.Report{Records: 5, Published: 3, Failed: 1, Insecure: true, Head: entries[4].SHA256}
	if rep != want {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
}

func TestVerifyEmptyAndSecure(t *testing.T) {
	rep, err := ledger.Verify(nil, ledger.VerifyOptions{})
	if err != nil || rep != (ledger.Report{}) {
		t.Errorf("Verify(nil) = %+v, %v; want empty report", rep, err)
	}
	g := genesisRecord()
	g.TEEKind, g.Insecure = "sev-snp", false
	f := failedRecord(0, "no participants")
	f.TEEKind, f.Insecure = "sev-snp", false
	rep, err = ledger.Verify(build(t, g, f), ledger.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Insecure || rep.Failed != 1 || rep.Records != 2 {
		t.Errorf("report = %+v, want 2 secure records, 1 failed", rep)
	}
}

func TestVerifyTampered(t *testing.T) {
	valid := validChain(t)
	flipReason := func(b []byte) []byte {
		i := bytes.Index(b, []byte("too few"))
		b[i] = 'T'
		return b
	}
	tests := []struct {
		name    string
		entries func() []ledger.Entry
		opts    ledger.VerifyOptions
		index   uint64
		want    string // the check, as named in the error
	}{
		{
			name: "flipped byte", index: 2,
			entries: func() []ledger.Entry {
				e := clone(valid)
				flipReason(e[2].Canonical)
				return e
			},
			want: "ledger record 2 (round 1): sha256 does not match the record bytes",
		},
		{
			name: "flipped byte, rehashed", index: 3,
			entries: func() []ledger.Entry {
				e := clone(valid)
				flipReason(e[2].Canonical)
				e[2].SHA256 = ledger.Hash(e[2].Canonical)
				return e
			},
			want: "ledger record 3 (round 2): prev hash does not match record 2",
		},
		{
			name: "entry hash flipped", index: 1,
			entries: func() []ledger.Entry {
				e := clone(valid)
				e[1].SHA256[0] ^= 1
				return e
			},
			want: "ledger record 1 (round 0): sha256 does not match",
		},
		{
			name: "reordered", index: 2,
			entries: func() []ledger.Entry {
				e := clone(valid)
				e[2], e[3] = e[3], e[2]
				return e
			},
			want: "ledger record 2 (round 2): entry index is 3, want 2",
		},
		{
			name: "dropped record", index: 2,
			entries: func() []ledger.Entry {
				return slices.Delete(clone(valid), 2, 3)
			},
			want: "ledger record 2 (round 2): entry index is 3, want 2",
		},
		{
			name: "record index rewritten", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Index = 7 })
			},
			want: "ledger record 3 (round 2): record index is 7, want 3",
		},
		{
			name: "wrong prev", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Prev = sum("elsewhere") })
			},
			want: "ledger record 3 (round 2): prev hash does not match record 2",
		},
		{
			name: "genesis prev not zero", index: 0,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 0, func(r *ledger.Record) { r.Prev = sum("elsewhere") })
			},
			want: "ledger record 0 (genesis): genesis prev hash is not 64 zeros",
		},
		{
			name: "no genesis", index: 0,
			entries: func() []ledger.Entry { return relink(t, valid[1:], 0) },
			want:    `ledger record 0 (round 0): first record has kind "round", want "genesis"`,
		},
		{
			name: "second genesis", index: 2,
			entries: func() []ledger.Entry {
				return relink(t, slices.Insert(clone(valid), 2, valid[0]), 2)
			},
			want: "ledger record 2 (genesis): genesis record is not first",
		},
		{
			name: "round not increasing", index: 4,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 4, func(r *ledger.Record) { r.Round = 2 })
			},
			want: "ledger record 4 (round 2): round 2 does not follow round 2",
		},
		{
			name: "other federation", index: 2,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 2, func(r *ledger.Record) { r.Federation = "other" })
			},
			want: `ledger record 2 (round 1): federation "other" differs`,
		},
		{
			name: "bad signature", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Signature[0] ^= 1 })
			},
			want: "ledger record 3 (round 2): manifest signature does not verify",
		},
		{
			name: "other signer", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.SignerPublicKey = make([]byte, 32) })
			},
			want: "ledger record 3 (round 2): manifest signature does not verify",
		},
		{
			name: "truncated public key", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.SignerPublicKey = r.SignerPublicKey[:5] })
			},
			want: "ledger record 3 (round 2): signer public key is 5 bytes, want 32",
		},
		{
			name: "manifest/record size mismatch", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.ModelSize++ })
			},
			want: "ledger record 3 (round 2): manifest model_size 1002 does not match record 1003",
		},
		{
			name: "manifest/record model hash mismatch", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.ModelSHA256 = sum("other model") })
			},
			want: "ledger record 3 (round 2): manifest model_sha256",
		},
		{
			name: "manifest/record participants mismatch", index: 4,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 4, func(r *ledger.Record) { r.Participants[1].NumExamples = 9999 })
			},
			want: "ledger record 4 (round 3): manifest contribution 1",
		},
		{
			name: "participant dropped", index: 4,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 4, func(r *ledger.Record) { r.Participants = r.Participants[:1] })
			},
			want: "ledger record 4 (round 3): manifest lists 2 contributions, record 1 participants",
		},
		{
			name: "insecure hidden", index: 4,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 4, func(r *ledger.Record) { r.Insecure = false })
			},
			want: `ledger record 4 (round 3): tee_kind "simulated-insecure" requires insecure=true`,
		},
		{
			name: "insecure hidden as another TEE", index: 4,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 4, func(r *ledger.Record) { r.TEEKind, r.Insecure = "sev-snp", false })
			},
			want: `ledger record 4 (round 3): manifest tee_kind "simulated-insecure" does not match record "sev-snp"`,
		},
		{
			name: "wrong parent", index: 4,
			entries: func() []ledger.Entry {
				e := clone(valid)
				bad := publishedRecord(3, modelHex(0)) // correctly signed, wrong parent
				bad.Index, bad.Prev = 4, parse(t, e[4]).Prev
				e[4] = raw(t, bad)
				return e
			},
			want: "ledger record 4 (round 3): parent hash",
		},
		{
			name: "parent on initial model", index: 1,
			entries: func() []ledger.Entry {
				e := clone(valid)
				bad := publishedRecord(0, sum("imported"))
				bad.Index, bad.Prev = 1, parse(t, e[1]).Prev
				e[1] = raw(t, bad)
				return relink(t, e, 2)
			},
			want: "ledger record 1 (round 0): parent hash " + sum("imported") + " but no model was published before",
		},
		{
			name: "failed round with a model", index: 2,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 2, func(r *ledger.Record) { r.ModelSize = 5 })
			},
			want: "ledger record 2 (round 1): failed round carries model fields",
		},
		{
			name: "unknown state", index: 2,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 2, func(r *ledger.Record) { r.State = "aborted" })
			},
			want: `ledger record 2 (round 1): unknown state "aborted"`,
		},
		{
			name: "uppercase hex", index: 2,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 2, func(r *ledger.Record) { r.ConfigSHA256 = strings.ToUpper(r.ConfigSHA256) })
			},
			want: "ledger record 2 (round 1): config_sha256",
		},
		{
			name: "time missing", index: 2,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 2, func(r *ledger.Record) { r.Time = time.Time{} })
			},
			want: "ledger record 2 (round 1): time is missing",
		},
		{
			name: "unknown JSON field", index: 2,
			entries: func() []ledger.Entry {
				return rewriteBytes(t, valid, 2, func(b []byte) []byte {
					return append(b[:len(b)-1], `,"extra":1}`...)
				})
			},
			want: `ledger record 2: malformed record: json: unknown field "extra"`,
		},
		{
			name: "trailing data", index: 2,
			entries: func() []ledger.Entry {
				return rewriteBytes(t, valid, 2, func(b []byte) []byte { return append(b, "{}"...) })
			},
			want: "ledger record 2: malformed record: trailing data after the record",
		},
		{
			name: "not canonical", index: 2,
			entries: func() []ledger.Entry {
				return rewriteBytes(t, valid, 2, func(b []byte) []byte {
					var out bytes.Buffer
					if err := json.Indent(&out, b, "", " "); err != nil {
						t.Fatal(err)
					}
					return out.Bytes()
				})
			},
			want: "ledger record 2 (round 1): record bytes are not in canonical form",
		},
		{
			name: "time not in UTC", index: 2,
			entries: func() []ledger.Entry {
				return rewriteBytes(t, valid, 2, func(b []byte) []byte {
					return bytes.Replace(b, []byte(`Z","prev"`), []byte(`+00:00","prev"`), 1)
				})
			},
			want: "ledger record 2 (round 1): record bytes are not in canonical form",
		},
		{
			name: "null participants", index: 2,
			entries: func() []ledger.Entry {
				return rewriteBytes(t, valid, 2, func(b []byte) []byte {
					return bytes.Replace(b, []byte(`"participants":[]`), []byte(`"participants":null`), 1)
				})
			},
			want: "ledger record 2 (round 1): record bytes are not in canonical form",
		},
		{
			name: "evidence byte flipped", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Evidence[0] ^= 1 })
			},
			want: "ledger record 3 (round 2): evidence_sha256 " + sum("evidence") + " does not match the evidence, which hashes to",
		},
		{
			name: "evidence swapped, hash kept", index: 4,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 4, func(r *ledger.Record) { r.Evidence = []byte("other evidence") })
			},
			want: "ledger record 4 (round 3): evidence_sha256 " + sum("evidence") + " does not match the evidence, which hashes to " + sum("other evidence"),
		},
		{
			name: "evidence dropped, claims kept", index: 1,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 1, func(r *ledger.Record) { r.Evidence = nil })
			},
			want: "ledger record 1 (round 0): published round carries claims but no evidence",
		},
		{
			name: "claims dropped", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Claims = nil })
			},
			want: "ledger record 3 (round 2): published round carries evidence but no claims",
		},
		{
			name: "claims lack a key", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { delete(r.Claims, ledger.ClaimMeasurement) })
			},
			want: `ledger record 3 (round 2): claims lack "measurement"`,
		},
		{
			name: "claims of another TEE", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Claims[ledger.ClaimKind] = "sev-snp" })
			},
			want: `ledger record 3 (round 2): claims kind "sev-snp" does not match tee_kind "simulated-insecure"`,
		},
		{
			name: "claims hide insecure", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Claims[ledger.ClaimInsecure] = "false" })
			},
			want: `ledger record 3 (round 2): claims insecure "false" does not match insecure=true`,
		},
		{
			name: "claims say debug", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Claims[ledger.ClaimDebug] = "true" })
			},
			want: `ledger record 3 (round 2): claims debug "true"`,
		},
		{
			name: "claims verified_at not a time", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Claims[ledger.ClaimVerifiedAt] = "yesterday" })
			},
			want: `ledger record 3 (round 2): claims verified_at "yesterday"`,
		},
		{
			name: "evidence kind differs", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.EvidenceKind = "tdx" })
			},
			want: `ledger record 3 (round 2): evidence_kind "tdx" does not match tee_kind "simulated-insecure"`,
		},
		{
			name: "evidence hash dropped", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.EvidenceSHA256 = "" })
			},
			want: "ledger record 3 (round 2): published round has no evidence_sha256",
		},
		{
			name: "failed round with evidence", index: 2,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 2, func(r *ledger.Record) { r.Evidence = []byte("evidence") })
			},
			want: "ledger record 2 (round 1): failed round carries evidence fields",
		},
		{
			name: "failed round with claims", index: 2,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 2, func(r *ledger.Record) { r.Claims = testClaims(1) })
			},
			want: "ledger record 2 (round 1): failed round carries evidence fields",
		},
		{
			name: "failed round with an evidence hash", index: 2,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 2, func(r *ledger.Record) { r.EvidenceSHA256 = sum("evidence") })
			},
			want: "ledger record 2 (round 1): failed round carries evidence fields",
		},
		{
			name: "genesis with evidence", index: 0,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 0, func(r *ledger.Record) {
					r.EvidenceKind, r.EvidenceSHA256, r.Evidence = "simulated-insecure", sum("evidence"), []byte("evidence")
				})
			},
			want: "ledger record 0 (genesis): genesis record carries evidence fields",
		},
		{
			name: "empty claims spelled out", index: 2,
			entries: func() []ledger.Entry {
				return rewriteBytes(t, valid, 2, func(b []byte) []byte {
					return bytes.Replace(b, []byte(`,"time"`), []byte(`,"claims":{},"time"`), 1)
				})
			},
			want: "ledger record 2 (round 1): record bytes are not in canonical form",
		},
		{
			name: "empty evidence spelled out", index: 2,
			entries: func() []ledger.Entry {
				return rewriteBytes(t, valid, 2, func(b []byte) []byte {
					return bytes.Replace(b, []byte(`,"time"`), []byte(`,"evidence":"","time"`), 1)
				})
			},
			want: "ledger record 2 (round 1): record bytes are not in canonical form",
		},
		{
			name: "evidence required", index: 3,
			entries: func() []ledger.Entry {
				return rewrite(t, valid, 3, func(r *ledger.Record) { r.Evidence, r.Claims = nil, nil })
			},
			opts: ledger.VerifyOptions{RequireEvidence: true},
			want: "ledger record 3 (round 2): published round carries no evidence (only its sha256)",
		},
		{
			name: "stored model hash mismatch", index: 3,
			entries: func() []ledger.Entry { return valid },
			opts: ledger.VerifyOptions{ModelSHA256: func(round uint64) ([32]byte, error) {
				if round == 2 {
					return modelHash(99), nil
				}
				return modelHash(round), nil
			}},
			want: "ledger record 3 (round 2): stored model hashes to " + modelHex(99) + ", record says " + modelHex(2),
		},
		{
			name: "stored model missing", index: 1,
			entries: func() []ledger.Entry { return valid },
			opts: ledger.VerifyOptions{ModelSHA256: func(uint64) ([32]byte, error) {
				return [32]byte{}, errors.New("no such model")
			}},
			want: "ledger record 1 (round 0): stored model: no such model",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.Verify(tt.entries(), tt.opts)
			var ve *ledger.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a *VerifyError", err)
			}
			if ve.Index != tt.index {
				t.Errorf("error names record %d, want %d", ve.Index, tt.index)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestVerifyRecordsWithoutEvidence: records written before the evidence was
// kept (only its hash) still verify, and the report counts them.
func TestVerifyRecordsWithoutEvidence(t *testing.T) {
	recs := validRecords()
	for _, i := range []int{1, 4} {
		recs[i].Evidence, recs[i].Claims = nil, nil
	}
	entries := build(t, recs...)
	for _, i := range []int{1, 4} {
		if bytes.Contains(entries[i].Canonical, []byte(`"evidence":`)) || bytes.Contains(entries[i].Canonical, []byte(`"claims"`)) {
			t.Errorf("record %d without evidence encodes empty evidence fields: %s", i, entries[i].Canonical)
		}
	}
	rep, err := ledger.Verify(entries, ledger.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Published != 3 || rep.WithoutEvidence != 2 {
		t.Errorf("report = %+v, want 3 published, 2 without evidence", rep)
	}
	if rep, err := ledger.Verify(validChain(t), ledger.VerifyOptions{RequireEvidence: true}); err != nil || rep.WithoutEvidence != 0 {
		t.Errorf("Verify(RequireEvidence) = %+v, %v", rep, err)
	}
}

func TestClaimsSummary(t *testing.T) {
	c := tee.Claims{
		Kind:        "sev-snp",
		Measurement: []byte{0xab, 0xcd},
		TCB:         "bootloader=3 tee=0 snp=14 microcode=209",
		VerifiedAt:  time.Date(2026, 3, 1, 13, 0, 0, 5, time.FixedZone("CET", 3600)),
		Details:     map[string]string{"vmpl": "0", "kind": "spoofed", "insecure": "false"},
	}
	got := ledger.ClaimsSummary(c)
	want := map[string]string{
		"kind": "sev-snp", "insecure": "false", "measurement": "abcd", "debug": "false",
		"tcb": "bootloader=3 tee=0 snp=14 microcode=209", "verified_at": "2026-03-01T12:00:00.000000005Z",
		"vmpl": "0", "detail.kind": "spoofed", "detail.insecure": "false",
	}
	if !maps.Equal(got, want) {
		t.Errorf("ClaimsSummary = %v\nwant %v", got, want)
	}
	if keys := ledger.ClaimKeys(); len(keys) != 6 || keys[0] != ledger.ClaimKind {
		t.Errorf("ClaimKeys = %v", keys)
	}
}

func TestCheckRecord(t *testing.T) {
	r := publishedRecord(2, modelHex(0))
	r.Index, r.Prev = 3, sum("previous record")
	if err := ledger.CheckRecord(r); err != nil {
		t.Fatalf("CheckRecord(valid) = %v", err)
	}
	r.Evidence = []byte("tampered")
	if err := ledger.CheckRecord(r); err == nil || !strings.Contains(err.Error(), "evidence_sha256") {
		t.Errorf("CheckRecord(tampered evidence) = %v", err)
	}
}

func TestVerifyDoesNotModifyEntries(t *testing.T) {
	entries := validChain(t)
	before := clone(entries)
	if _, err := ledger.Verify(entries, ledger.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		if !bytes.Equal(entries[i].Canonical, before[i].Canonical) {
			t.Fatalf("entry %d modified", i)
		}
	}
}

func ExampleVerify() {
	entries := []ledger.Entry{}
	for _, r := range []ledger.Record{genesisRecord(), failedRecord(0, "no participants")} {
		var prev *ledger.Entry
		if len(entries) > 0 {
			prev = &entries[len(entries)-1]
		}
		e, err := ledger.Next(prev, r)
		if err != nil {
			panic(err)
		}
		entries = append(entries, e)
	}
	rep, err := ledger.Verify(entries, ledger.VerifyOptions{})
	fmt.Println(rep.Records, rep.Failed, rep.Insecure, err)
	// Output: 2 1 true <nil>
}
