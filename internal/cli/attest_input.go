package cli

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/cca"
	"github.com/confed/confed/internal/tee/maa"
	"github.com/confed/confed/internal/tee/nitro"
	"github.com/confed/confed/internal/tee/nvgpu"
	"github.com/confed/confed/internal/tee/simulated"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/tdx"
)

// maxAttestFile bounds what confed attest reads: a ledger record holds the
// evidence (at most 64 KiB raw) and the manifest, both in base64.
const maxAttestFile = 4 << 20

// attestInput is the EVIDENCE file of confed attest: raw evidence, or a
// ledger record that carries it.
type attestInput struct {
	name string
	// ev is the evidence. For a ledger record it is the record's; for raw
	// evidence ev.Kind is set once known (simulated evidence says so
	// itself; otherwise --kind, the policy or detection).
	ev tee.Evidence
	// record is the ledger record the file holds, if it holds one.
	record *ledger.Record
}

// readAttestFile reads a file of at most maxAttestFile bytes.
func readAttestFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAttestFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAttestFile {
		return nil, fmt.Errorf("%s: larger than %d bytes; neither evidence nor a ledger record is that large", path, maxAttestFile)
	}
	return b, nil
}

// loadAttestInput reads an EVIDENCE file and works out what it is: a JSON
// ledger record (as confed ledger show prints it), simulated evidence (a
// JSON document), or binary evidence of a hardware TEE.
func loadAttestInput(path string) (*attestInput, error) {
	data, err := readAttestFile(path)
	if err != nil {
		return nil, err
	}
	in := &attestInput{name: path}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		in.ev = tee.Evidence{Raw: data}
		return in, nil
	}
	var probe map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&probe); err != nil {
		return nil, fmt.Errorf("%s: starts like JSON but is not a JSON object: %v", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: holds more than one JSON document; confed ledger show prints one record per line: save the line of the round to check in a file of its own", path)
	}
	_, hasPrev := probe["prev"]
	_, hasEvidenceSHA := probe["evidence_sha256"]
	switch {
	case hasPrev || hasEvidenceSHA:
		r, err := ledger.Parse(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		in.record = &r
		in.ev = tee.Evidence{Kind: r.EvidenceKind, Raw: r.Evidence}
	case string(probe["warning"]) != "" && strings.Contains(string(probe["kind"]), tee.KindSimulated):
		// Kept byte for byte: the verifier parses it strictly itself.
		in.ev = tee.Evidence{Kind: tee.KindSimulated, Raw: data}
	case string(probe["format"]) == `"`+nvgpu.EvidenceFormat+`"`:
		in.ev = tee.Evidence{Kind: tee.KindNVGPU, Raw: data}
	default:
		return nil, fmt.Errorf("%s: a JSON document that is neither a ledger record, simulated TEE evidence nor NVIDIA GPU evidence", path)
	}
	return in, nil
}

// loadLedgerRecord reads the file of --ledger-record: one ledger record.
func loadLedgerRecord(path string) (*ledger.Record, error) {
	in, err := loadAttestInput(path)
	if err != nil {
		return nil, err
	}
	if in.record == nil {
		return nil, fmt.Errorf("%w: --ledger-record %s: not a ledger record (a line of confed ledger show)", errUsage, path)
	}
	return in.record, nil
}

// kindName turns a --kind value into an evidence kind.
func kindName(k string) (string, error) {
	switch k {
	case "simulated", tee.KindSimulated:
		return tee.KindSimulated, nil
	case tee.KindSEVSNP, tee.KindTDX, tee.KindSGX, tee.KindNitro, tee.KindMAA, tee.KindCCA, tee.KindNVGPU:
		return k, nil
	}
	return "", fmt.Errorf("%w: --kind %q: want %s", errUsage, k, kindChoices)
}

// kindChoices lists the kinds --kind accepts.
const kindChoices = "sev-snp, tdx, sgx, aws-nitro, azure-maa, arm-cca, nvidia-gpu or simulated"

// detectKind guesses the kind of binary evidence from its header: a TDX v4
// quote (version 4, TEE type 0x81), a Nitro document (an untagged
// COSE_Sign1 whose protected header is {1: -35}), a CCA token (CBOR tag 399
// or 907), an MAA token (a JWS whose header starts {"alg":), or an SEV-SNP
// report (version 2 to 5, at least a report long). The guess only chooses
// a parser.
func detectKind(raw []byte) (string, error) {
	switch {
	case bytes.HasPrefix(raw, []byte{0x84, 0x44, 0xa1, 0x01, 0x38, 0x22}):
		return tee.KindNitro, nil
	case bytes.HasPrefix(raw, []byte{0xd9, 0x01, 0x8f}), bytes.HasPrefix(raw, []byte{0xd9, 0x03, 0x8b}):
		return tee.KindCCA, nil
	case bytes.HasPrefix(bytes.TrimSpace(raw), []byte("eyJ")) && bytes.Count(raw, []byte(".")) == 2:
		return tee.KindMAA, nil
	case len(raw) >= 8 && binary.LittleEndian.Uint16(raw) == 4 && binary.LittleEndian.Uint32(raw[4:]) == 0x81:
		return tee.KindTDX, nil
	case len(raw) >= abi.ReportSize && binary.LittleEndian.Uint32(raw) >= 2 && binary.LittleEndian.Uint32(raw) <= 5:
		return tee.KindSEVSNP, nil
	}
	return "", fmt.Errorf("%w: cannot tell what kind of evidence this is (%d bytes): pass --kind (%s)", errUsage, len(raw), kindChoices)
}

// field is one named, readable value of evidence or of a record.
type field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// describeEvidence lists the fields of ev with its package's Describe. It
// verifies nothing.
func describeEvidence(ev tee.Evidence) ([]field, error) {
	var out []field
	switch ev.Kind {
	case tee.KindSEVSNP:
		fs, err := snp.Describe(ev.Raw)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, field{f.Name, f.Value})
		}
	case tee.KindTDX:
		fs, err := tdx.Describe(ev.Raw)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, field{f.Name, f.Value})
		}
	case tee.KindNitro:
		fs, err := nitro.Describe(ev.Raw)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, field{f.Name, f.Value})
		}
	case tee.KindCCA:
		fs, err := cca.Describe(ev.Raw)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, field{f.Name, f.Value})
		}
	case tee.KindNVGPU:
		fs, err := nvgpu.Describe(ev.Raw)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, field{f.Name, f.Value})
		}
	case tee.KindMAA:
		fs, err := maa.Describe(ev.Raw)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, field{f[0], f[1]})
		}
	case tee.KindSimulated:
		return describeSimulated(ev.Raw)
	case tee.KindSGX:
		return nil, errors.New("sgx: this build cannot describe SGX reports")
	default:
		return nil, fmt.Errorf("unknown evidence kind %q", ev.Kind)
	}
	return out, nil
}

// simulatedDoc mirrors the simulated TEE's evidence document.
type simulatedDoc struct {
	Version     int    `json:"version"`
	Kind        string `json:"kind"`
	Warning     string `json:"warning"`
	Measurement string `json:"measurement"`
	ReportData  string `json:"report_data"`
}

func parseSimulated(raw []byte) (simulatedDoc, error) {
	var d simulatedDoc
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("simulated evidence: %v", err)
	}
	if d.Kind != tee.KindSimulated || d.Warning != simulated.Warning {
		return d, fmt.Errorf("simulated evidence: kind %q, warning %q: not simulated TEE evidence", d.Kind, d.Warning)
	}
	return d, nil
}

func describeSimulated(raw []byte) ([]field, error) {
	d, err := parseSimulated(raw)
	if err != nil {
		return nil, err
	}
	return []field{
		{"version", fmt.Sprint(d.Version)},
		{"kind", d.Kind},
		{"warning", d.Warning},
		{"measurement", d.Measurement},
		{"report_data", d.ReportData},
	}, nil
}

// reportDataOf reads the report data that ev itself carries, unverified.
func reportDataOf(ev tee.Evidence) ([64]byte, error) {
	var out [64]byte
	name := map[string]string{tee.KindSEVSNP: "report_data", tee.KindTDX: "body.report_data", tee.KindSimulated: "report_data",
		tee.KindNitro: "nonce", tee.KindCCA: "realm.challenge", tee.KindNVGPU: "nonce"}[ev.Kind]
	if name == "" {
		return out, fmt.Errorf("%w: cannot read the report data of %s evidence: pass --report-data HEX", errUsage, ev.Kind)
	}
	fs, err := describeEvidence(ev)
	if err != nil {
		return out, err
	}
	for _, f := range fs {
		if f.Name == name {
			b, err := hex.DecodeString(f.Value)
			if ev.Kind == tee.KindNVGPU && err == nil && len(b) == nvgpu.NonceSize {
				// A GPU binds the first 32 bytes of the report data.
				b = append(b, make([]byte, len(out)-nvgpu.NonceSize)...)
			}
			if err != nil || len(b) != len(out) {
				return out, fmt.Errorf("%s evidence: report data %q is not 64 bytes of hex", ev.Kind, f.Value)
			}
			copy(out[:], b)
			return out, nil
		}
	}
	return out, fmt.Errorf("%s evidence: no report data field", ev.Kind)
}

// parseReportData decodes --report-data: exactly 64 bytes in hex.
func parseReportData(s string) ([64]byte, error) {
	var out [64]byte
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(out) {
		return out, fmt.Errorf("%w: --report-data: want 128 hex characters (64 bytes), got %d characters", errUsage, len(strings.TrimSpace(s)))
	}
	copy(out[:], b)
	return out, nil
}

// withEndorsementKey appends a certificate table holding the VCEK (or
// VLEK) certificate in path, PEM or DER, to a bare SEV-SNP report: the
// verifier then needs no key server for it. The certificate is not
// trusted: it must chain to AMD's roots like one from the host.
func withEndorsementKey(raw []byte, path string) ([]byte, error) {
	if len(raw) != abi.ReportSize {
		return nil, fmt.Errorf("%w: --vcek applies to a bare %d-byte SEV-SNP report; this evidence is %d bytes (it has a certificate table already)", errUsage, abi.ReportSize, len(raw))
	}
	data, err := readAttestFile(path)
	if err != nil {
		return nil, err
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: --vcek %s: PEM block %q, want CERTIFICATE", errUsage, path, block.Type)
		}
		der = block.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: --vcek %s: %v", errUsage, path, err)
	}
	chain := &spb.CertificateChain{}
	switch cert.Subject.CommonName {
	case "SEV-VCEK":
		chain.VcekCert = der
	case "SEV-VLEK":
		chain.VlekCert = der
	default:
		return nil, fmt.Errorf("%w: --vcek %s: certificate %q is neither a VCEK (SEV-VCEK) nor a VLEK (SEV-VLEK)", errUsage, path, cert.Subject.CommonName)
	}
	out := append([]byte(nil), raw...)
	return append(out, abi.CertsFromProto(chain).Marshal()...), nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
