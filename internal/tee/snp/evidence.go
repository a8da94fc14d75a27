package snp

import (
	"encoding/binary"
	"fmt"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
)

// MaxEvidenceSize bounds the evidence a Verifier or Describe looks at: a
// report (1184 bytes) and a certificate table of a few certificates take
// well under 16 KiB.
const MaxEvidenceSize = 64 << 10

// maxCertTableEntries bounds the certificate table's header.
const maxCertTableEntries = 32

// parseEvidence turns raw evidence (report || certificate table) into its
// protobuf form. It refuses oversize input, checks the certificate table's
// header itself (go-sev-guest v0.15.0's CertTable.Unmarshal adds offset and
// length in uint32 and panics on entries that wrap around), and turns any
// panic of the parser into an error.
func parseEvidence(raw []byte) (att *spb.Attestation, err error) {
	if len(raw) > MaxEvidenceSize {
		return nil, fmt.Errorf("sev-snp: malformed evidence: %d bytes, more than the %d-byte limit", len(raw), MaxEvidenceSize)
	}
	if len(raw) < abi.ReportSize {
		return nil, fmt.Errorf("sev-snp: malformed evidence: %d bytes, shorter than an attestation report (%d bytes)", len(raw), abi.ReportSize)
	}
	if err := checkCertTable(raw[abi.ReportSize:]); err != nil {
		return nil, fmt.Errorf("sev-snp: malformed evidence: certificate table: %v", err)
	}
	defer func() {
		if r := recover(); r != nil {
			att, err = nil, fmt.Errorf("sev-snp: malformed evidence: parser failed: %v", r)
		}
	}()
	att, err = abi.ReportCertsToProto(raw)
	if err != nil {
		return nil, fmt.Errorf("sev-snp: malformed evidence: %v", err)
	}
	if att.GetReport() == nil || att.GetCertificateChain() == nil {
		return nil, fmt.Errorf("sev-snp: malformed evidence: no report")
	}
	// go-sev-guest checks the signature over its own re-encoding of the
	// parsed report, and the parser drops some bits (the high nibble of the
	// CPUID stepping byte): without this check, differing raw reports would
	// verify as the same one.
	canonical, err := abi.ReportToAbiBytes(att.GetReport())
	if err != nil {
		return nil, fmt.Errorf("sev-snp: malformed evidence: %v", err)
	}
	if i := firstDiff(canonical, raw[:abi.ReportSize]); i >= 0 {
		return nil, fmt.Errorf("sev-snp: malformed evidence: report byte 0x%x is not in canonical form", i)
	}
	return att, nil
}

// firstDiff returns the first index at which a and b (of equal length)
// differ, or -1.
func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// checkCertTable checks the header of a GHCB certificate table: entries of
// a 16-byte GUID, a 4-byte offset and a 4-byte length, ended by an all-zero
// entry, each pointing inside the table, after the header.
func checkCertTable(table []byte) error {
	if len(table) == 0 {
		return nil // no certificates: allowed, they may be fetched
	}
	var entries [][2]uint64
	for i := 0; ; i++ {
		at := i * abi.CertTableEntrySize
		if at+abi.CertTableEntrySize > len(table) {
			return fmt.Errorf("header not terminated by an all-zero entry within %d bytes", len(table))
		}
		e := table[at : at+abi.CertTableEntrySize]
		off := uint64(binary.LittleEndian.Uint32(e[abi.GUIDSize:]))
		n := uint64(binary.LittleEndian.Uint32(e[abi.GUIDSize+4:]))
		if off == 0 && n == 0 && allZero(e[:abi.GUIDSize]) {
			break
		}
		if i == maxCertTableEntries {
			return fmt.Errorf("more than %d entries", maxCertTableEntries)
		}
		entries = append(entries, [2]uint64{off, n})
	}
	header := uint64(len(entries)+1) * abi.CertTableEntrySize
	for i, e := range entries {
		if e[0] < header || e[0]+e[1] > uint64(len(table)) {
			return fmt.Errorf("entry %d (offset %d, length %d) lies outside the %d-byte table after its %d-byte header", i, e[0], e[1], len(table), header)
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
