package sgx

import (
	"strings"
	"testing"
	"time"

	"github.com/edgelesssys/ego/attestation/tcbstatus"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/yamlcfg"
)

const (
	mrenclave = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	mrsigner  = "5151515151515151515151515151515151515151515151515151515151515151"
	other32   = "0000000000000000000000000000000000000000000000000000000000000000"
)

func u16(v uint16) *uint16 { return &v }

func mustContain(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		wantErr []string
	}{
		{name: "unique IDs", policy: Policy{UniqueIDs: []string{mrenclave, strings.ToUpper(other32)}}},
		{name: "signer and product", policy: Policy{SignerID: mrsigner, ProductID: u16(0), MinimumSVN: 3}},
		{name: "both", policy: Policy{UniqueIDs: []string{mrenclave}, SignerID: mrsigner, ProductID: u16(1)}},
		{name: "allowed statuses", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: []string{"SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded"}}},
		{name: "nothing", policy: Policy{}, wantErr: []string{"unique_ids: missing: set unique_ids"}},
		{name: "only product", policy: Policy{ProductID: u16(1)}, wantErr: []string{"unique_ids: missing", "product_id: is set but signer_id is not"}},
		{name: "signer without product", policy: Policy{SignerID: mrsigner}, wantErr: []string{"product_id: missing: required with signer_id"}},
		{name: "short unique ID", policy: Policy{UniqueIDs: []string{mrenclave, "abc"}}, wantErr: []string{"unique_ids[1]: must be 64 hex digits (32 bytes), got 3 characters"}},
		{name: "signer not hex", policy: Policy{SignerID: "x" + mrsigner[1:], ProductID: u16(1)}, wantErr: []string{"signer_id: must be 64 hex digits"}},
		{name: "UpToDate listed", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: []string{"UpToDate"}}, wantErr: []string{"allowed_tcb_statuses[0]: UpToDate is always allowed"}},
		{name: "Revoked listed", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: []string{"OutOfDate", "Revoked"}}, wantErr: []string{"allowed_tcb_statuses[1]: Revoked can never be allowed"}},
		{name: "Unknown listed", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: []string{"Unknown"}}, wantErr: []string{"Unknown can never be allowed"}},
		{name: "misspelt status", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: []string{"SWHardeningNeded"}}, wantErr: []string{`allowed_tcb_statuses[0]: must be OutOfDate`, `did you mean "SWHardeningNeeded"?`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if len(tt.wantErr) == 0 {
				mustContain(t, err, "")
				return
			}
			for _, w := range tt.wantErr {
				mustContain(t, err, w)
			}
		})
	}
}

func TestPolicyYAML(t *testing.T) {
	doc := "sgx:\n  signer_id: " + mrsigner + "\n  product_id: 7\n  minimum_svn: 2\n  allowed_tcb_statuses: [SWHardeningNeeded, Revoked]\n"
	var cfg struct {
		SGX Policy `yaml:"sgx"`
	}
	l, err := yamlcfg.Decode("coordinator.yaml", []byte(doc), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SGX.ProductID == nil || *cfg.SGX.ProductID != 7 || cfg.SGX.MinimumSVN != 2 {
		t.Fatalf("decoded %+v", cfg.SGX)
	}
	mustContain(t, cfg.SGX.ValidateAt(l, "sgx"), "coordinator.yaml:5: sgx.allowed_tcb_statuses[1]: Revoked can never be allowed")
}

// TestPolicyCheck is the validation step on reports as EGo returns them
// after verification.
func TestPolicyCheck(t *testing.T) {
	rd := tee.ReportData(tee.LabelSigningKey, []byte("heart-disease"), []byte("key"))
	good := func() Report {
		return Report{
			Data:            rd[:],
			SecurityVersion: 3,
			UniqueID:        mustHex(mrenclave),
			SignerID:        mustHex(mrsigner),
			ProductID:       []byte{7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			TCBStatus:       tcbstatus.UpToDate,
		}
	}
	byEnclave := Policy{UniqueIDs: []string{other32, mrenclave}}
	bySigner := Policy{SignerID: mrsigner, ProductID: u16(7), MinimumSVN: 3}
	tests := []struct {
		name            string
		policy          Policy
		report          func(*Report)
		tcbLevelInvalid bool
		rd              [64]byte
		wantErr         string
	}{
		{name: "MRENCLAVE listed", policy: byEnclave},
		{name: "MRENCLAVE not listed", policy: Policy{UniqueIDs: []string{other32}}, wantErr: "sgx: MRENCLAVE check failed"},
		{name: "signer, product and SVN", policy: bySigner},
		{name: "SVN above minimum", policy: bySigner, report: func(r *Report) { r.SecurityVersion = 9 }},
		{name: "SVN below minimum", policy: bySigner, report: func(r *Report) { r.SecurityVersion = 2 }, wantErr: "sgx: minimum SVN check failed"},
		{name: "other signer", policy: bySigner, report: func(r *Report) { r.SignerID = mustHex(other32) }, wantErr: "sgx: MRSIGNER check failed"},
		{name: "other product", policy: bySigner, report: func(r *Report) { r.ProductID[0] = 8 }, wantErr: "sgx: product ID check failed: 8, want 7"},
		{name: "product ID over 16 bits", policy: bySigner, report: func(r *Report) { r.ProductID[2] = 1 }, wantErr: "sgx: malformed product ID"},
		{name: "product ID missing", policy: bySigner, report: func(r *Report) { r.ProductID = nil }, wantErr: "sgx: malformed product ID"},
		{name: "two-byte product ID", policy: bySigner, report: func(r *Report) { r.ProductID = []byte{7, 0} }},
		{name: "both identities, enclave wrong", policy: Policy{UniqueIDs: []string{other32}, SignerID: mrsigner, ProductID: u16(7)}, wantErr: "sgx: MRENCLAVE check failed"},
		{name: "debug refused", policy: byEnclave, report: func(r *Report) { r.Debug = true }, wantErr: "sgx: debug enclave refused"},
		{name: "debug refused whatever else matches", policy: Policy{UniqueIDs: []string{mrenclave}, SignerID: mrsigner, ProductID: u16(7), AllowedTCBStatuses: TCBStatuses()}, report: func(r *Report) { r.Debug = true }, wantErr: "sgx: debug enclave refused"},
		{name: "report data mismatch", policy: byEnclave, rd: [64]byte{1}, wantErr: "sgx: report data check failed"},
		{name: "short report data", policy: byEnclave, report: func(r *Report) { r.Data = rd[:32] }, wantErr: "sgx: report data check failed"},
		{name: "TCB out of date refused", policy: byEnclave, tcbLevelInvalid: true, report: func(r *Report) {
			r.TCBStatus = tcbstatus.OutOfDate
			r.TCBAdvisories = []string{"INTEL-SA-00615"}
		}, wantErr: "sgx: TCB status check failed: OutOfDate is not allowed (TCB level of SGX platform is outdated.); advisories: INTEL-SA-00615"},
		{name: "TCB SW hardening allowed", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: []string{"SWHardeningNeeded"}}, tcbLevelInvalid: true, report: func(r *Report) { r.TCBStatus = tcbstatus.SWHardeningNeeded }},
		{name: "TCB allowed status other than reported", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: []string{"SWHardeningNeeded"}}, tcbLevelInvalid: true, report: func(r *Report) { r.TCBStatus = tcbstatus.OutOfDate }, wantErr: "sgx: TCB status check failed: OutOfDate"},
		{name: "TCB revoked refused even if every status allowed", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: TCBStatuses()}, tcbLevelInvalid: true, report: func(r *Report) { r.TCBStatus = tcbstatus.Revoked }, wantErr: "sgx: TCB status check failed: Revoked"},
		{name: "TCB unknown refused", policy: Policy{UniqueIDs: []string{mrenclave}, AllowedTCBStatuses: TCBStatuses()}, report: func(r *Report) { r.TCBStatus = tcbstatus.Unknown }, wantErr: "sgx: TCB status check failed: Unknown"},
		{name: "TCB not UpToDate without the error is still checked", policy: byEnclave, report: func(r *Report) { r.TCBStatus = tcbstatus.ConfigurationNeeded }, wantErr: "sgx: TCB status check failed: ConfigurationNeeded"},
		{name: "TCB error with UpToDate status is inconsistent", policy: byEnclave, tcbLevelInvalid: true, wantErr: "verification reported an invalid TCB level but the status says UpToDate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.policy.compile(nil, "")
			if err != nil {
				t.Fatal(err)
			}
			r := good()
			if tt.report != nil {
				tt.report(&r)
			}
			want := rd
			if tt.rd != ([64]byte{}) {
				want = tt.rd
			}
			claims, err := c.evaluate(r, tt.tcbLevelInvalid, want, time.Unix(1700000000, 0))
			mustContain(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if claims.Kind != tee.KindSGX || claims.Debug || claims.Insecure || claims.ReportData != rd ||
				string(claims.Measurement) != string(r.UniqueID) || claims.TCB != r.TCBStatus.String() ||
				claims.Details["mrsigner"] != mrsigner || claims.Details["product_id"] != "7" ||
				claims.Details["security_version"] != "3" && claims.Details["security_version"] != "9" {
				t.Fatalf("claims %+v", claims)
			}
		})
	}
}

func mustHex(s string) []byte {
	b, err := decodeHex(s)
	if err != nil {
		panic(err)
	}
	return b
}
