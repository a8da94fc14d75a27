package atls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ProtocolVersion is the version byte of every frame and is bound into every
// piece of evidence.
const ProtocolVersion byte = 1

// Size limits. A frame whose header announces more than its type allows is
// refused before its payload is read or any memory is allocated for it.
const (
	// MaxEvidenceSize bounds the TEE's raw evidence (an SEV-SNP report with
	// its certificate table is about 5 KiB; a TDX quote with PCK chain
	// about 8 KiB).
	MaxEvidenceSize = 1 << 20
	// MaxBindingSize bounds Config.Binding.
	MaxBindingSize = 64 << 10
	// MaxReasonSize bounds the reason in a refusal frame, in bytes.
	MaxReasonSize = 1024

	maxKindLen       = 64
	maxFederationLen = 63
	digestLen        = 32
	frameHeaderLen   = 6
)

// frameType is the second byte of a frame.
type frameType byte

const (
	frameEvidence frameType = 1
	frameRefusal  frameType = 2
	frameOK       frameType = 3
)

func (t frameType) String() string {
	switch t {
	case frameEvidence:
		return "evidence"
	case frameRefusal:
		return "refusal"
	case frameOK:
		return "ok"
	}
	return fmt.Sprintf("type-%d", byte(t))
}

// Flags in the first payload byte of evidence and ok frames.
const (
	// flagWantEvidence: the server asks the client for its evidence.
	flagWantEvidence byte = 1 << 0
	knownFlags            = flagWantEvidence
)

// maxEvidencePayload is the largest evidence payload a peer may send.
const maxEvidencePayload = 1 + // flags
	1 + maxKindLen + // kind
	1 + maxFederationLen + // federation
	8 + // round
	digestLen + // exporter digest
	4 + MaxBindingSize + // binding
	4 + MaxEvidenceSize // raw evidence

// maxPayload is the largest payload of frames of type t.
func maxPayload(t frameType) (int, bool) {
	switch t {
	case frameEvidence:
		return maxEvidencePayload, true
	case frameRefusal:
		return MaxReasonSize, true
	case frameOK:
		return 1, true
	}
	return 0, false
}

// protocolError is a frame that breaks the wire format. The receiving side
// refuses the peer with "protocol error: <msg>".
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func protoErrorf(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// writeFrame writes one frame in a single Write call.
func writeFrame(w io.Writer, t frameType, payload []byte) error {
	max, ok := maxPayload(t)
	if !ok || len(payload) > max {
		return fmt.Errorf("atls: internal error: %d-byte %s frame", len(payload), t)
	}
	buf := make([]byte, frameHeaderLen+len(payload))
	buf[0] = ProtocolVersion
	buf[1] = byte(t)
	binary.BigEndian.PutUint32(buf[2:frameHeaderLen], uint32(len(payload)))
	copy(buf[frameHeaderLen:], payload)
	_, err := w.Write(buf)
	return err
}

// readFrame reads exactly one frame and nothing beyond it, so that the bytes
// gRPC sends after the handshake stay in the connection. Errors that break
// the format are *protocolError; I/O errors (including io.EOF before the
// first byte and io.ErrUnexpectedEOF inside a frame) are returned as they
// are.
func readFrame(r io.Reader) (frameType, []byte, error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	if hdr[0] != ProtocolVersion {
		return 0, nil, protoErrorf("unsupported atls protocol version %d (this side speaks version %d)", hdr[0], ProtocolVersion)
	}
	t := frameType(hdr[1])
	max, ok := maxPayload(t)
	if !ok {
		return 0, nil, protoErrorf("unknown frame type %d", hdr[1])
	}
	n := binary.BigEndian.Uint32(hdr[2:])
	if uint64(n) > uint64(max) {
		return 0, nil, protoErrorf("%s frame of %d bytes exceeds the limit of %d bytes", t, n, max)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return t, payload, nil
}

// evidenceMsg is the payload of an evidence frame.
type evidenceMsg struct {
	Flags      byte
	Kind       string
	Federation string
	Round      uint64
	// ExporterDigest is a digest of the sender's TLS exporter value. It
	// lets the receiver name relayed evidence precisely; it is not what
	// makes relaying fail (the report data is).
	ExporterDigest [digestLen]byte
	Binding        []byte
	Raw            []byte
}

func (m *evidenceMsg) marshal() ([]byte, error) {
	switch {
	case m.Flags&^knownFlags != 0:
		return nil, fmt.Errorf("unknown flags %#x", m.Flags)
	case !validToken(m.Kind, maxKindLen):
		return nil, fmt.Errorf("evidence kind %q is not 1 to %d characters of [A-Za-z0-9._-]", m.Kind, maxKindLen)
	case !validToken(m.Federation, maxFederationLen):
		return nil, fmt.Errorf("federation %q is not 1 to %d characters of [A-Za-z0-9._-]", m.Federation, maxFederationLen)
	case len(m.Binding) > MaxBindingSize:
		return nil, fmt.Errorf("binding of %d bytes exceeds the limit of %d bytes", len(m.Binding), MaxBindingSize)
	case len(m.Raw) == 0:
		return nil, errors.New("evidence is empty")
	case len(m.Raw) > MaxEvidenceSize:
		return nil, fmt.Errorf("evidence of %d bytes exceeds the limit of %d bytes", len(m.Raw), MaxEvidenceSize)
	}
	b := make([]byte, 0, 1+1+len(m.Kind)+1+len(m.Federation)+8+digestLen+4+len(m.Binding)+4+len(m.Raw))
	b = append(b, m.Flags)
	b = append(b, byte(len(m.Kind)))
	b = append(b, m.Kind...)
	b = append(b, byte(len(m.Federation)))
	b = append(b, m.Federation...)
	b = binary.BigEndian.AppendUint64(b, m.Round)
	b = append(b, m.ExporterDigest[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Binding)))
	b = append(b, m.Binding...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Raw)))
	b = append(b, m.Raw...)
	return b, nil
}

// parseEvidence decodes an evidence payload strictly: every field within its
// bounds and no trailing bytes.
func parseEvidence(p []byte) (evidenceMsg, error) {
	var m evidenceMsg
	d := decoder{b: p}
	m.Flags = d.u8("flags")
	m.Kind = string(d.bytes8("kind"))
	m.Federation = string(d.bytes8("federation"))
	m.Round = d.u64("round")
	copy(m.ExporterDigest[:], d.fixed("exporter digest", digestLen))
	m.Binding = d.bytes32("binding", MaxBindingSize)
	m.Raw = d.bytes32("evidence", MaxEvidenceSize)
	if d.err != nil {
		return evidenceMsg{}, d.err
	}
	switch {
	case len(d.b) != 0:
		return evidenceMsg{}, protoErrorf("evidence frame: %d trailing bytes", len(d.b))
	case m.Flags&^knownFlags != 0:
		return evidenceMsg{}, protoErrorf("evidence frame: unknown flags %#x", m.Flags)
	case !validToken(m.Kind, maxKindLen):
		return evidenceMsg{}, protoErrorf("evidence frame: malformed evidence kind %q", m.Kind)
	case !validToken(m.Federation, maxFederationLen):
		return evidenceMsg{}, protoErrorf("evidence frame: malformed federation %q", m.Federation)
	case len(m.Raw) == 0:
		return evidenceMsg{}, protoErrorf("evidence frame: empty evidence")
	}
	return m, nil
}

// okPayload is the payload of an ok frame.
func okPayload(flags byte) []byte { return []byte{flags} }

func parseOK(p []byte) (byte, error) {
	if len(p) != 1 {
		return 0, protoErrorf("ok frame: payload of %d bytes, want 1", len(p))
	}
	if p[0]&^knownFlags != 0 {
		return 0, protoErrorf("ok frame: unknown flags %#x", p[0])
	}
	return p[0], nil
}

// refusalPayload makes reason fit a refusal frame: valid UTF-8 without
// control characters, at most MaxReasonSize bytes, never empty.
func refusalPayload(reason string) []byte {
	return []byte(sanitizeReason(reason))
}

func sanitizeReason(reason string) string {
	reason = strings.ToValidUTF8(reason, "?")
	reason = strings.Map(func(r rune) rune {
		if !printable(r) {
			return ' '
		}
		return r
	}, reason)
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = "refused (no reason given)"
	}
	if len(reason) > MaxReasonSize {
		const ellipsis = "…"
		cut := MaxReasonSize - len(ellipsis)
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut] + ellipsis
	}
	return reason
}

// parseRefusal accepts only what refusalPayload produces, so that a peer
// cannot put terminal escapes or fake log lines into our logs.
func parseRefusal(p []byte) (string, error) {
	if len(p) == 0 {
		return "", protoErrorf("refusal frame: empty reason")
	}
	if !utf8.Valid(p) {
		return "", protoErrorf("refusal frame: reason is not valid UTF-8")
	}
	s := string(p)
	for _, r := range s {
		if !printable(r) {
			return "", protoErrorf("refusal frame: reason contains control character %U", r)
		}
	}
	if strings.TrimSpace(s) != s {
		return "", protoErrorf("refusal frame: reason has leading or trailing space")
	}
	return s, nil
}

func printable(r rune) bool {
	return r != utf8.RuneError && !unicode.IsControl(r) &&
		!unicode.Is(unicode.Zl, r) && !unicode.Is(unicode.Zp, r) && !unicode.Is(unicode.Cf, r)
}

// validToken reports whether s is 1 to max characters of [A-Za-z0-9._-].
func validToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// decoder reads fields from a payload; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(what string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = protoErrorf("evidence frame: truncated %s (%d bytes left, want %d)", what, len(d.b), n)
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u8(what string) byte {
	if b := d.take(what, 1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if b := d.take(what, 8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) fixed(what string, n int) []byte { return d.take(what, n) }

func (d *decoder) bytes8(what string) []byte {
	n := d.u8(what + " length")
	return d.take(what, int(n))
}

func (d *decoder) bytes32(what string, max int) []byte {
	b := d.take(what+" length", 4)
	if b == nil {
		return nil
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(max) {
		d.err = protoErrorf("evidence frame: %s of %d bytes exceeds the limit of %d bytes", what, n, max)
		return nil
	}
	return d.take(what, int(n))
}
