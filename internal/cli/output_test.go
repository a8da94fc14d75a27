package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/confed/confed/coordinator/ledger"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// TestProtoJSONHexHashes: hashes come out in hex, nested ones too, and
// the layout does not depend on protojson's randomised whitespace.
func TestProtoJSONHexHashes(t *testing.T) {
	st := &confedv1.ListRoundsResponse{Federation: "f", Rounds: []*confedv1.RoundStatus{
		{Round: 1, ModelSha256: []byte{0xab, 0xcd}, Submissions: []*confedv1.SubmissionStatus{{Participant: "p"}}},
	}}
	var a, b bytes.Buffer
	if err := writeProtoJSON(&a, st); err != nil {
		t.Fatal(err)
	}
	if err := writeProtoJSON(&b, st); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("two encodings differ")
	}
	for _, want := range []string{`"model_sha256": "abcd"`, `"federation": "f"`, `"participant": "p"`, `"finished": false`} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("missing %s in\n%s", want, a.String())
		}
	}
}

// TestLedgerJSONFailure: a ledger that does not verify is reported as data.
func TestLedgerJSONFailure(t *testing.T) {
	err := &ledger.VerifyError{Index: 3, Parsed: true, Kind: "round", Round: 2, Err: errors.New("parent hash differs")}
	var b bytes.Buffer
	if werr := writeJSON(&b, newLedgerJSON(ledger.Report{Records: 3}, err, true)); werr != nil {
		t.Fatal(werr)
	}
	for _, want := range []string{`"verified": false`, `"failed_index": 3`, `"failed_kind": "round"`, `"failed_round": 2`,
		`"error": "` + strings.ReplaceAll(err.Error(), `"`, `\"`), `"models_rehashed": true`, `"head_sha256": ""`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %s in\n%s", want, b.String())
		}
	}
}
