package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/confed/confed/internal/tee"
)

// Keys of Record.Claims that [ClaimsSummary] always writes and [Verify]
// requires of a published record that carries evidence. Any other key is a
// verifier's detail (tee.Claims.Details), e.g. "vmpl" or "rtmr0".
const (
	ClaimKind        = "kind"
	ClaimMeasurement = "measurement" // lowercase hex
	ClaimTCB         = "tcb"
	ClaimDebug       = "debug"    // "true" or "false"
	ClaimInsecure    = "insecure" // "true" or "false"
	ClaimVerifiedAt  = "verified_at"
)

// claimKeys are the keys every claims summary has, in display order.
var claimKeys = []string{ClaimKind, ClaimInsecure, ClaimMeasurement, ClaimTCB, ClaimDebug, ClaimVerifiedAt}

// ClaimKeys returns the keys every claims summary has, in the order in which
// to display them (details follow, sorted).
func ClaimKeys() []string { return append([]string(nil), claimKeys...) }

// detailPrefix is put before a detail whose name is one of claimKeys, so
// that no verifier detail can replace a base claim.
const detailPrefix = "detail."

// ClaimsSummary is the form in which verified claims are kept in a ledger
// record: kind, insecure, measurement (hex), tcb, debug, verified_at (RFC
// 3339, UTC, nanoseconds) and each of c.Details under its own name (a
// detail named like one of those keys is kept as "detail.<name>").
func ClaimsSummary(c tee.Claims) map[string]string {
	m := make(map[string]string, len(claimKeys)+len(c.Details))
	for k, v := range c.Details {
		m[k] = v
	}
	for _, k := range claimKeys {
		if v, ok := c.Details[k]; ok {
			m[detailPrefix+k] = v
		}
	}
	m[ClaimKind] = c.Kind
	m[ClaimInsecure] = strconv.FormatBool(c.Insecure)
	m[ClaimMeasurement] = hex.EncodeToString(c.Measurement)
	m[ClaimTCB] = c.TCB
	m[ClaimDebug] = strconv.FormatBool(c.Debug)
	m[ClaimVerifiedAt] = c.VerifiedAt.UTC().Format(time.RFC3339Nano)
	return m
}

// CheckRecord checks everything about one record that needs no other
// record: its fields, a published round's manifest signature and agreement
// with the manifest, and its evidence fields (see [Verify]). It does not
// check the record's place in a chain; [Verify] does.
func CheckRecord(r Record) error {
	return checkRecord(r)
}

// hasEvidenceFields reports whether r carries any evidence field.
func hasEvidenceFields(r Record) bool {
	return r.EvidenceKind != "" || r.EvidenceSHA256 != "" || len(r.Evidence) > 0 || len(r.Claims) > 0
}

// checkEvidence checks a published round's evidence fields: the evidence
// hashes to evidence_sha256, its kind is the record's TEE kind, and the
// claims summary is complete and agrees with the record. A record without
// evidence bytes and claims (written before they were kept) passes; Verify
// counts it.
func checkEvidence(r Record) error {
	if r.EvidenceKind == "" {
		return errors.New("published round has no evidence_kind")
	}
	if r.EvidenceSHA256 == "" {
		return errors.New("published round has no evidence_sha256")
	}
	if r.EvidenceKind != r.TEEKind {
		return fmt.Errorf("evidence_kind %q does not match tee_kind %q", r.EvidenceKind, r.TEEKind)
	}
	if len(r.Evidence) == 0 {
		if len(r.Claims) > 0 {
			return errors.New("published round carries claims but no evidence")
		}
		return nil
	}
	if sum := sha256.Sum256(r.Evidence); hex.EncodeToString(sum[:]) != r.EvidenceSHA256 {
		return fmt.Errorf("evidence_sha256 %s does not match the evidence, which hashes to %x", r.EvidenceSHA256, sum)
	}
	return checkClaims(r)
}

// checkClaims checks a claims summary against its record.
func checkClaims(r Record) error {
	if len(r.Claims) == 0 {
		return errors.New("published round carries evidence but no claims")
	}
	for _, k := range claimKeys {
		if _, ok := r.Claims[k]; !ok {
			return fmt.Errorf("claims lack %q", k)
		}
	}
	c := r.Claims
	switch {
	case c[ClaimKind] != r.TEEKind:
		return fmt.Errorf("claims kind %q does not match tee_kind %q", c[ClaimKind], r.TEEKind)
	case c[ClaimInsecure] != strconv.FormatBool(r.Insecure):
		return fmt.Errorf("claims insecure %q does not match insecure=%v", c[ClaimInsecure], r.Insecure)
	case c[ClaimDebug] != "false":
		return fmt.Errorf("claims debug %q: no verifier accepts a debug TEE", c[ClaimDebug])
	}
	if _, err := time.Parse(time.RFC3339Nano, c[ClaimVerifiedAt]); err != nil {
		return fmt.Errorf("claims verified_at %q is not an RFC 3339 time", c[ClaimVerifiedAt])
	}
	return nil
}
