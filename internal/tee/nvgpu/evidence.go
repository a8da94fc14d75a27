package nvgpu

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// EvidenceFormat names confed's GPU evidence document.
const EvidenceFormat = "confed-nvidia-gpu/v1"

// MaxEvidenceSize bounds a GPU evidence document.
const MaxEvidenceSize = 256 << 10

// maxChain bounds the certificate chain.
const maxChain = 8

// Document is the JSON form of GPU evidence: the attestation report in hex
// and the certificate chain in PEM, leaf first — as NVIDIA's tools print
// them.
type Document struct {
	Format            string `json:"format"`
	AttestationReport string `json:"attestation_report"`
	CertificateChain  string `json:"certificate_chain"`
}

// Encode builds an evidence document.
func Encode(report []byte, chainPEM string) ([]byte, error) {
	return json.MarshalIndent(Document{Format: EvidenceFormat, AttestationReport: hex.EncodeToString(report), CertificateChain: chainPEM}, "", "  ")
}

// parsed is decoded evidence: the report and the chain, leaf first.
type parsed struct {
	report *Report
	chain  []*x509.Certificate
}

// parseEvidence decodes an evidence document.
func parseEvidence(raw []byte) (*parsed, error) {
	if len(raw) > MaxEvidenceSize {
		return nil, fmt.Errorf("nvidia-gpu: malformed evidence: %d bytes, more than the %d-byte limit", len(raw), MaxEvidenceSize)
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("nvidia-gpu: malformed evidence: %v", err)
	}
	if d.Format != EvidenceFormat {
		return nil, fmt.Errorf("nvidia-gpu: malformed evidence: format %q, want %q", d.Format, EvidenceFormat)
	}
	rb, err := hex.DecodeString(strings.TrimSpace(d.AttestationReport))
	if err != nil {
		return nil, fmt.Errorf("nvidia-gpu: malformed evidence: attestation_report is not hex: %v", err)
	}
	p := &parsed{}
	if p.report, err = ParseReport(rb); err != nil {
		return nil, err
	}
	if p.chain, err = parseChain([]byte(d.CertificateChain)); err != nil {
		return nil, fmt.Errorf("nvidia-gpu: malformed evidence: certificate_chain: %w", err)
	}
	return p, nil
}

func parseChain(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q, want CERTIFICATE", block.Type)
		}
		if len(out) == maxChain {
			return nil, fmt.Errorf("more than %d certificates", maxChain)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", len(out), err)
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(b)) != 0 {
		return nil, errors.New("text after the last certificate")
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%d certificates, want the GPU's certificate and its issuers up to NVIDIA's root", len(out))
	}
	return out, nil
}
