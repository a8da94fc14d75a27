package nitro

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/confed/confed/internal/tee/cose"
)

// MaxEvidenceSize bounds an attestation document: the NSM answers in at
// most 12 KiB (nonce, user_data and public_key are each at most 1 KiB).
const MaxEvidenceSize = 16 << 10

// PCRSize is the size of a PCR in a SHA384 document.
const PCRSize = 48

// Document is a parsed attestation document. It is unverified until
// VerifyDocument returns it.
type Document struct {
	ModuleID  string
	Digest    string
	Timestamp time.Time
	PCRs      map[uint][]byte
	// Certificate signed the document; CABundle runs from the root (first)
	// to the certificate's issuer (last), as the NSM orders it.
	Certificate *x509.Certificate
	CABundle    []*x509.Certificate
	PublicKey   []byte
	UserData    []byte
	Nonce       []byte

	sign1 *cose.Sign1
}

// payload mirrors the CBOR map of the document's payload.
type payload struct {
	ModuleID    string          `cbor:"module_id"`
	Digest      string          `cbor:"digest"`
	Timestamp   uint64          `cbor:"timestamp"`
	PCRs        map[uint][]byte `cbor:"pcrs"`
	Certificate []byte          `cbor:"certificate"`
	CABundle    [][]byte        `cbor:"cabundle"`
	PublicKey   []byte          `cbor:"public_key"`
	UserData    []byte          `cbor:"user_data"`
	Nonce       []byte          `cbor:"nonce"`
}

// ParseDocument parses an attestation document without verifying it.
func ParseDocument(raw []byte) (*Document, error) {
	if len(raw) > MaxEvidenceSize {
		return nil, fmt.Errorf("nitro: malformed document: %d bytes, more than the %d-byte limit", len(raw), MaxEvidenceSize)
	}
	s, err := cose.ParseSign1(raw)
	if err != nil {
		return nil, fmt.Errorf("nitro: malformed document: %w", err)
	}
	var p payload
	if err := cose.DecMode.Unmarshal(s.Payload, &p); err != nil {
		return nil, fmt.Errorf("nitro: malformed document payload: %w", err)
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("nitro: malformed document payload: %w", err)
	}
	d := &Document{ModuleID: p.ModuleID, Digest: p.Digest, Timestamp: time.UnixMilli(int64(p.Timestamp)).UTC(),
		PCRs: p.PCRs, PublicKey: p.PublicKey, UserData: p.UserData, Nonce: p.Nonce, sign1: s}
	if d.Certificate, err = x509.ParseCertificate(p.Certificate); err != nil {
		return nil, fmt.Errorf("nitro: malformed document: certificate: %v", err)
	}
	for i, c := range p.CABundle {
		cert, err := x509.ParseCertificate(c)
		if err != nil {
			return nil, fmt.Errorf("nitro: malformed document: cabundle[%d]: %v", i, err)
		}
		d.CABundle = append(d.CABundle, cert)
	}
	return d, nil
}

// check applies the document's documented constraints (Nitro Enclaves
// user guide, "attestation document specification").
func (p payload) check() error {
	switch {
	case p.ModuleID == "":
		return errors.New("module_id is empty")
	case p.Digest != "SHA384":
		return fmt.Errorf("digest %q, want SHA384", p.Digest)
	case p.Timestamp == 0 || p.Timestamp > 1<<53:
		return fmt.Errorf("timestamp %d is out of range", p.Timestamp)
	case len(p.PCRs) == 0 || len(p.PCRs) > 32:
		return fmt.Errorf("%d PCRs, want 1 to 32", len(p.PCRs))
	case len(p.Certificate) == 0:
		return errors.New("no certificate")
	case len(p.CABundle) == 0:
		return errors.New("empty cabundle")
	case len(p.PublicKey) > 1024, len(p.UserData) > 1024, len(p.Nonce) > 1024:
		return errors.New("public_key, user_data or nonce longer than 1024 bytes")
	}
	for i, v := range p.PCRs {
		if i > 31 {
			return fmt.Errorf("PCR index %d out of range 0-31", i)
		}
		if len(v) != PCRSize {
			return fmt.Errorf("PCR%d is %d bytes, want %d", i, len(v), PCRSize)
		}
	}
	return nil
}
