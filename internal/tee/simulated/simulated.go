// Package simulated is an INSECURE stand-in for a TEE, for development and
// demos on machines without TEE hardware.
//
// Its "evidence" is a plain JSON statement that anyone can forge: it proves
// nothing about the code or the machine. It exists so that the rest of the
// system (binding of keys, refusals, ledger records) runs the same code paths
// as with real hardware. Both ends refuse to use it unless explicitly enabled,
// and every claim it yields is marked Insecure.
package simulated

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/confed/confed/internal/tee"
)

// Warning is embedded in every piece of simulated evidence.
const Warning = "INSECURE: simulated TEE, no hardware protection"

type document struct {
	Version     int    `json:"version"`
	Kind        string `json:"kind"`
	Warning     string `json:"warning"`
	Measurement string `json:"measurement"`
	ReportData  string `json:"report_data"`
}

// Issuer issues simulated evidence.
type Issuer struct {
	measurement [32]byte
}

// NewIssuer returns an issuer whose measurement is the SHA-256 of the
// running executable, or an error if the insecure mode was not enabled.
func NewIssuer(opts tee.Options) (*Issuer, error) {
	if !opts.AllowInsecureSimulated {
		return nil, tee.ErrInsecureRefused
	}
	m, err := executableDigest()
	if err != nil {
		return nil, fmt.Errorf("measuring own executable: %w", err)
	}
	return &Issuer{measurement: m}, nil
}

// NewIssuerWithMeasurement is NewIssuer with a given measurement (tests).
func NewIssuerWithMeasurement(opts tee.Options, m [32]byte) (*Issuer, error) {
	if !opts.AllowInsecureSimulated {
		return nil, tee.ErrInsecureRefused
	}
	return &Issuer{measurement: m}, nil
}

// Kind implements tee.Issuer.
func (*Issuer) Kind() string { return tee.KindSimulated }

// Issue implements tee.Issuer.
func (i *Issuer) Issue(_ context.Context, reportData [64]byte) (tee.Evidence, error) {
	raw, err := json.Marshal(document{
		Version:     1,
		Kind:        tee.KindSimulated,
		Warning:     Warning,
		Measurement: hex.EncodeToString(i.measurement[:]),
		ReportData:  hex.EncodeToString(reportData[:]),
	})
	if err != nil {
		return tee.Evidence{}, err
	}
	return tee.Evidence{Kind: tee.KindSimulated, Raw: raw}, nil
}

// Verifier accepts simulated evidence only when the insecure mode is enabled.
type Verifier struct {
	opts tee.Options
	// Measurements, if not empty, is the allow-list of measurements.
	Measurements [][]byte
	now          func() time.Time
}

// NewVerifier returns a verifier for simulated evidence.
func NewVerifier(opts tee.Options, measurements ...[]byte) *Verifier {
	return &Verifier{opts: opts, Measurements: measurements, now: time.Now}
}

// Verify implements tee.Verifier.
func (v *Verifier) Verify(_ context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	if ev.Kind != tee.KindSimulated {
		return tee.Claims{}, fmt.Errorf("evidence kind %q: this verifier accepts only %q", ev.Kind, tee.KindSimulated)
	}
	if !v.opts.AllowInsecureSimulated {
		return tee.Claims{}, tee.ErrInsecureRefused
	}
	doc, err := parse(ev.Raw)
	if err != nil {
		return tee.Claims{}, err
	}
	measurement, err := hex.DecodeString(doc.Measurement)
	if err != nil || len(measurement) != sha256.Size {
		return tee.Claims{}, fmt.Errorf("simulated evidence: measurement is not 32 hex-encoded bytes")
	}
	rd, err := hex.DecodeString(doc.ReportData)
	if err != nil || len(rd) != 64 {
		return tee.Claims{}, fmt.Errorf("simulated evidence: report_data is not 64 hex-encoded bytes")
	}
	if !bytes.Equal(rd, reportData[:]) {
		return tee.Claims{}, fmt.Errorf("simulated evidence: report data does not bind the expected key and context")
	}
	if !v.allowed(measurement) {
		return tee.Claims{}, fmt.Errorf("simulated evidence: measurement %x is not in the allowed list", measurement)
	}
	return tee.Claims{
		Kind:        tee.KindSimulated,
		Insecure:    true,
		Measurement: measurement,
		TCB:         "none (simulated)",
		ReportData:  reportData,
		VerifiedAt:  v.now(),
	}, nil
}

func (v *Verifier) allowed(m []byte) bool {
	if len(v.Measurements) == 0 {
		return true
	}
	for _, a := range v.Measurements {
		if bytes.Equal(a, m) {
			return true
		}
	}
	return false
}

func parse(raw []byte) (document, error) {
	var doc document
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return doc, fmt.Errorf("simulated evidence: %w", err)
	}
	if dec.More() {
		return doc, fmt.Errorf("simulated evidence: trailing data after the JSON document")
	}
	if doc.Version != 1 || doc.Kind != tee.KindSimulated || doc.Warning != Warning {
		return doc, fmt.Errorf("simulated evidence: unsupported version %d or kind %q", doc.Version, doc.Kind)
	}
	return doc, nil
}

func executableDigest() ([32]byte, error) {
	var out [32]byte
	path, err := os.Executable()
	if err != nil {
		return out, err
	}
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return out, err
	}
	copy(out[:], h.Sum(nil))
	return out, nil
}
