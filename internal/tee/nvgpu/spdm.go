package nvgpu

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SPDM 1.1 constants of a GET_MEASUREMENTS exchange.
const (
	spdmVersion11   = 0x11
	codeGetMeas     = 0xE0
	codeMeasurement = 0x60
	requestSize     = 37 // version, code, param1, param2, nonce, slot
	NonceSize       = 32
	signatureSize   = 96 // ECDSA P-384 r||s
	dmtfSpec        = 1
)

// MaxReportSize bounds an attestation report (a Hopper report is ~4 KiB).
const MaxReportSize = 64 << 10

// Measurement is one DMTF measurement block.
type Measurement struct {
	Index     int
	ValueType int
	Value     []byte
}

// Report is a parsed attestation report. It is unverified until
// VerifyEvidence returns it.
type Report struct {
	Request  []byte
	Response []byte // without the signature
	// Nonce is the requester's nonce (what binds the report);
	// ResponderNonce the GPU's own.
	Nonce          []byte
	ResponderNonce []byte
	Measurements   []Measurement
	record         []byte
	Opaque         map[int][]byte
	Signature      []byte
}

type reader struct {
	b   []byte
	off int
}

func (r *reader) take(n int, what string) ([]byte, error) {
	if n < 0 || r.off+n > len(r.b) {
		return nil, fmt.Errorf("%s: needs %d bytes at offset %d, only %d remain", what, n, r.off, len(r.b)-r.off)
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out, nil
}

// ParseReport parses request || response || signature.
func ParseReport(raw []byte) (*Report, error) {
	if len(raw) > MaxReportSize {
		return nil, fmt.Errorf("nvidia-gpu: malformed report: %d bytes, more than the %d-byte limit", len(raw), MaxReportSize)
	}
	rep, err := parseReport(raw)
	if err != nil {
		return nil, fmt.Errorf("nvidia-gpu: malformed report: %w", err)
	}
	return rep, nil
}

func parseReport(raw []byte) (*Report, error) {
	if len(raw) < requestSize+8+NonceSize+2+signatureSize {
		return nil, fmt.Errorf("%d bytes is too short for an SPDM measurement exchange", len(raw))
	}
	req := raw[:requestSize]
	if req[0] != spdmVersion11 || req[1] != codeGetMeas {
		return nil, fmt.Errorf("request: version 0x%02x code 0x%02x, want SPDM 1.1 (0x11) GET_MEASUREMENTS (0xe0)", req[0], req[1])
	}
	if req[2]&1 == 0 {
		return nil, errors.New("request: no signature was requested (param1 bit 0 clear)")
	}
	body := raw[requestSize : len(raw)-signatureSize]
	rep := &Report{Request: req, Response: body, Nonce: req[4 : 4+NonceSize], Signature: raw[len(raw)-signatureSize:]}
	r := &reader{b: body}
	hdr, err := r.take(8, "response header")
	if err != nil {
		return nil, err
	}
	if hdr[0] != spdmVersion11 || hdr[1] != codeMeasurement {
		return nil, fmt.Errorf("response: version 0x%02x code 0x%02x, want SPDM 1.1 (0x11) MEASUREMENTS (0x60)", hdr[0], hdr[1])
	}
	blocks := int(hdr[4])
	recLen := int(hdr[5]) | int(hdr[6])<<8 | int(hdr[7])<<16
	if rep.record, err = r.take(recLen, "measurement record"); err != nil {
		return nil, err
	}
	if rep.Measurements, err = parseRecord(rep.record, blocks); err != nil {
		return nil, err
	}
	if rep.ResponderNonce, err = r.take(NonceSize, "responder nonce"); err != nil {
		return nil, err
	}
	ol, err := r.take(2, "opaque length")
	if err != nil {
		return nil, err
	}
	opaque, err := r.take(int(binary.LittleEndian.Uint16(ol)), "opaque data")
	if err != nil {
		return nil, err
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("%d bytes between the opaque data and the signature", len(body)-r.off)
	}
	if rep.Opaque, err = parseOpaque(opaque); err != nil {
		return nil, err
	}
	return rep, nil
}

func parseRecord(rec []byte, blocks int) ([]Measurement, error) {
	if blocks == 0 {
		return nil, errors.New("the response holds no measurement blocks")
	}
	r := &reader{b: rec}
	seen := map[int]bool{}
	var out []Measurement
	for i := 0; i < blocks; i++ {
		h, err := r.take(4, fmt.Sprintf("measurement block %d header", i))
		if err != nil {
			return nil, err
		}
		idx, spec, size := int(h[0]), int(h[1]), int(binary.LittleEndian.Uint16(h[2:]))
		if spec != dmtfSpec {
			return nil, fmt.Errorf("measurement block %d (index %d): specification %d, want DMTF (1)", i, idx, spec)
		}
		if seen[idx] {
			return nil, fmt.Errorf("measurement index %d appears twice", idx)
		}
		seen[idx] = true
		m, err := r.take(size, fmt.Sprintf("measurement block %d", i))
		if err != nil {
			return nil, err
		}
		if len(m) < 3 || int(binary.LittleEndian.Uint16(m[1:3])) != len(m)-3 {
			return nil, fmt.Errorf("measurement index %d: DMTF value size does not match its block", idx)
		}
		out = append(out, Measurement{Index: idx, ValueType: int(m[0]), Value: m[3:]})
	}
	if r.off != len(rec) {
		return nil, fmt.Errorf("%d bytes after the last measurement block", len(rec)-r.off)
	}
	return out, nil
}

// Opaque data field types (NVIDIA's local GPU verifier names them).
const (
	OpaqueDriverVersion = 3
	OpaqueGPUInfo       = 4
	OpaqueSKU           = 5
	OpaqueVBIOSVersion  = 6
	OpaqueProject       = 17
	OpaqueProjectSKU    = 18
)

func parseOpaque(b []byte) (map[int][]byte, error) {
	out := map[int][]byte{}
	r := &reader{b: b}
	for r.off < len(b) {
		h, err := r.take(4, "opaque field header")
		if err != nil {
			return nil, err
		}
		typ, size := int(binary.LittleEndian.Uint16(h)), int(binary.LittleEndian.Uint16(h[2:]))
		v, err := r.take(size, fmt.Sprintf("opaque field %d", typ))
		if err != nil {
			return nil, err
		}
		if _, dup := out[typ]; dup {
			return nil, fmt.Errorf("opaque field %d appears twice", typ)
		}
		out[typ] = v
	}
	return out, nil
}

// cString reads a NUL-terminated string field.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
