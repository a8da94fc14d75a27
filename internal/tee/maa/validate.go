package maa

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/confed/confed/internal/tee"
)

// checkToken validates a verified token's claims against the policy.
func (c compiled) checkToken(t *Token, reportData [64]byte, now time.Time) (claimSet, error) {
	all := claimSet(t.Claims)
	if err := c.checkTime(all, now); err != nil {
		return nil, err
	}
	iss, err := all.mustStr("iss")
	if err != nil {
		return nil, refused(err)
	}
	if iss != c.issuer {
		return nil, fmt.Errorf("azure-maa: evidence refused: issuer %q, the policy trusts %q", iss, c.issuer)
	}
	tc, typ, err := teeClaims(all)
	if err != nil {
		return nil, refused(err)
	}
	if typ != c.typ {
		return nil, fmt.Errorf("azure-maa: evidence refused: attestation type %q, the policy requires %q", typ, c.typ)
	}
	if c.typ == TypeSGX {
		err = c.checkSGX(tc, reportData)
	} else {
		err = c.checkSNP(all, tc, reportData)
	}
	if err != nil {
		return nil, err
	}
	return tc, nil
}

func refused(err error) error { return fmt.Errorf("azure-maa: evidence refused: %w", err) }

func (c compiled) checkTime(all claimSet, now time.Time) error {
	exp, err := all.time("exp")
	if err != nil {
		return refused(err)
	}
	if now.After(exp.Add(c.skew)) {
		return fmt.Errorf("azure-maa: evidence refused: token expired at %s (checked as of %s, skew %s)", exp.Format(time.RFC3339), now.UTC().Format(time.RFC3339), c.skew)
	}
	if _, ok := all["nbf"]; ok {
		nbf, err := all.time("nbf")
		if err != nil {
			return refused(err)
		}
		if now.Add(c.skew).Before(nbf) {
			return fmt.Errorf("azure-maa: evidence refused: token not valid before %s (checked as of %s, skew %s)", nbf.Format(time.RFC3339), now.UTC().Format(time.RFC3339), c.skew)
		}
	}
	return nil
}

func (c compiled) checkSGX(tc claimSet, rd [64]byte) error {
	dbg, err := tc.boolean("x-ms-sgx-is-debuggable")
	if err != nil {
		return refused(err)
	}
	if dbg {
		return fmt.Errorf("azure-maa: evidence refused: the enclave is debuggable (x-ms-sgx-is-debuggable true)")
	}
	mre, err := tc.hexBytes("x-ms-sgx-mrenclave", 32)
	if err != nil {
		return refused(err)
	}
	mrs, err := tc.hexBytes("x-ms-sgx-mrsigner", 32)
	if err != nil {
		return refused(err)
	}
	if len(c.mrenclaves) > 0 && !tee.Listed(c.mrenclaves, mre) {
		return fmt.Errorf("azure-maa: evidence refused: MRENCLAVE %x is not in the policy's mrenclaves", mre)
	}
	if len(c.mrsigner) > 0 && !tee.Listed(c.mrsigner, mrs) {
		return fmt.Errorf("azure-maa: evidence refused: MRSIGNER %x is not in the policy's mrsigners", mrs)
	}
	pid, err := tc.uint("x-ms-sgx-product-id")
	if err != nil {
		return refused(err)
	}
	if c.productID != nil && pid != *c.productID {
		return fmt.Errorf("azure-maa: evidence refused: product ID %d, the policy requires %d", pid, *c.productID)
	}
	svn, err := tc.uint("x-ms-sgx-svn")
	if err != nil {
		return refused(err)
	}
	if svn < c.minSVN {
		return fmt.Errorf("azure-maa: evidence refused: SVN %d is below the policy's minimum_svn %d", svn, c.minSVN)
	}
	if err := checkEHDConsistent(tc); err != nil {
		return refused(err)
	}
	if c.binding == BindReportData {
		return bindHex(tc, "x-ms-sgx-report-data", rd)
	}
	ehd, _ := runtimeData(tc)
	if !bytes.Equal(ehd, rd[:]) {
		return fmt.Errorf("azure-maa: evidence refused: the enclave-held data (x-ms-sgx-ehd, %d bytes) is not the expected report data: the token is not bound to this connection", len(ehd))
	}
	return nil
}

func (c compiled) checkSNP(all, tc claimSet, rd [64]byte) error {
	dbg, err := tc.boolean("x-ms-sevsnpvm-is-debuggable")
	if err != nil {
		return refused(err)
	}
	if dbg {
		return fmt.Errorf("azure-maa: evidence refused: the VM is debuggable (x-ms-sevsnpvm-is-debuggable true)")
	}
	if c.compliance {
		if s, _ := tc.str("x-ms-compliance-status"); s != "azure-compliant-cvm" {
			return fmt.Errorf("azure-maa: evidence refused: compliance status %q, want azure-compliant-cvm (or require_compliance: false)", s)
		}
	}
	m, err := tc.hexBytes("x-ms-sevsnpvm-launchmeasurement", 48)
	if err != nil {
		return refused(err)
	}
	if !tee.Listed(c.launch, m) {
		return fmt.Errorf("azure-maa: evidence refused: launch measurement %x is not in the policy's launch_measurements", m)
	}
	svn, err := tc.uint("x-ms-sevsnpvm-guestsvn")
	if err != nil {
		return refused(err)
	}
	if svn < c.minGuestSVN {
		return fmt.Errorf("azure-maa: evidence refused: guest SVN %d is below the policy's minimum_guest_svn %d", svn, c.minGuestSVN)
	}
	if c.binding == BindReportData {
		return bindHex(tc, "x-ms-sevsnpvm-reportdata", rd)
	}
	// runtime-data: the runtime data (x-ms-runtime, which MAA checked
	// against the report's REPORT_DATA) carries the report data as
	// "confed-report-data". A CVM token keeps it in x-ms-isolation-tee.
	rt, ok := tc["x-ms-runtime"].(map[string]any)
	if !ok {
		rt, ok = all["x-ms-runtime"].(map[string]any)
	}
	if !ok {
		return fmt.Errorf("azure-maa: evidence refused: no x-ms-runtime object to carry the report data")
	}
	if got, _ := rt["confed-report-data"].(string); got != hex.EncodeToString(rd[:]) {
		return fmt.Errorf("azure-maa: evidence refused: x-ms-runtime confed-report-data %q is not the expected report data: the token is not bound to this connection", got)
	}
	return nil
}

func bindHex(tc claimSet, name string, rd [64]byte) error {
	got, err := tc.hexBytes(name, 64)
	if err != nil {
		return refused(err)
	}
	if !bytes.Equal(got, rd[:]) {
		return fmt.Errorf("azure-maa: evidence refused: %s is not the expected report data: the token is not bound to this connection", name)
	}
	return nil
}
