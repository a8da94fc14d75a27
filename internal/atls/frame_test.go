package atls

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func sampleEvidence() evidenceMsg {
	return evidenceMsg{
		Flags:          flagWantEvidence,
		Kind:           "simulated-insecure",
		Federation:     testFed,
		Round:          7,
		ExporterDigest: [digestLen]byte{1, 2, 3},
		Binding:        []byte("binding"),
		Raw:            []byte(`{"version":1}`),
	}
}

func TestFrameRoundTrip(t *testing.T) {
	m := sampleEvidence()
	p, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, f := range []struct {
		typ frameType
		p   []byte
	}{{frameEvidence, p}, {frameOK, okPayload(flagWantEvidence)}, {frameRefusal, refusalPayload("attestation refused: x")}} {
		if err := writeFrame(&buf, f.typ, f.p); err != nil {
			t.Fatal(err)
		}
	}
	buf.WriteString("PRI * HTTP/2.0") // what gRPC sends next must stay unread

	typ, got, err := readFrame(&buf)
	if err != nil || typ != frameEvidence {
		t.Fatalf("evidence: %v %v", typ, err)
	}
	back, err := parseEvidence(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Kind != m.Kind || back.Federation != m.Federation || back.Round != m.Round || back.Flags != m.Flags ||
		back.ExporterDigest != m.ExporterDigest || !bytes.Equal(back.Binding, m.Binding) || !bytes.Equal(back.Raw, m.Raw) {
		t.Errorf("round trip: %+v, want %+v", back, m)
	}
	if typ, got, err = readFrame(&buf); err != nil || typ != frameOK {
		t.Fatalf("ok: %v %v", typ, err)
	}
	if f, err := parseOK(got); err != nil || f != flagWantEvidence {
		t.Errorf("ok flags %v %v", f, err)
	}
	if typ, got, err = readFrame(&buf); err != nil || typ != frameRefusal {
		t.Fatalf("refusal: %v %v", typ, err)
	}
	if r, err := parseRefusal(got); err != nil || r != "attestation refused: x" {
		t.Errorf("refusal %q %v", r, err)
	}
	if rest := buf.String(); rest != "PRI * HTTP/2.0" {
		t.Errorf("readFrame consumed bytes after the frames: %q left", rest)
	}
}

func TestReadFrameErrors(t *testing.T) {
	hdr := func(v byte, typ frameType, n uint32) []byte {
		b := []byte{v, byte(typ), 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[2:], n)
		return b
	}
	tests := []struct {
		name     string
		in       []byte
		protocol string // non-empty: a protocol error containing this
		io       error  // otherwise this I/O error
	}{
		{"empty", nil, "", io.EOF},
		{"short header", []byte{1, 3}, "", io.ErrUnexpectedEOF},
		{"short payload", append(hdr(1, frameRefusal, 10), 'a'), "", io.ErrUnexpectedEOF},
		{"header only", hdr(1, frameOK, 1), "", io.ErrUnexpectedEOF},
		{"version 0", hdr(0, frameOK, 1), "unsupported atls protocol version 0", nil},
		{"type 0", hdr(1, 0, 0), "unknown frame type 0", nil},
		{"ok too long", hdr(1, frameOK, 2), "ok frame of 2 bytes exceeds the limit of 1 bytes", nil},
		{"4 GiB", hdr(1, frameEvidence, 1<<32-1), "exceeds the limit", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readFrame(bytes.NewReader(tt.in))
			var pe *protocolError
			if tt.protocol != "" {
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.protocol) {
					t.Fatalf("err = %v, want a protocol error containing %q", err, tt.protocol)
				}
				return
			}
			if !errors.Is(err, tt.io) || errors.As(err, &pe) {
				t.Fatalf("err = %v, want %v", err, tt.io)
			}
		})
	}
}

func TestParsePayloadErrors(t *testing.T) {
	sample := sampleEvidence()
	good, err := sample.marshal()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		p    []byte
		want string
	}{
		{"empty", nil, "truncated flags"},
		{"unknown flag", mutate(func(b []byte) []byte { b[0] = 0x82; return b }), "unknown flags 0x82"},
		{"empty kind", []byte{0, 0}, "truncated"},
		{"kind with space", mutate(func(b []byte) []byte { b[2] = ' '; return b }), "malformed evidence kind"},
		{"trailing", append(bytes.Clone(good), 1, 2), "2 trailing bytes"},
		{"cut", good[:len(good)-1], "truncated evidence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseEvidence(tt.p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	for _, p := range [][]byte{nil, {0, 0}, {0x40}} {
		if _, err := parseOK(p); err == nil {
			t.Errorf("parseOK(%v) accepted", p)
		}
	}
	for _, r := range []string{"", " x", "a\x1b[31mred", "line\nbreak", "bad \xff utf8", "bidi \u202e"} {
		if _, err := parseRefusal([]byte(r)); err == nil {
			t.Errorf("parseRefusal(%q) accepted", r)
		}
	}
	// The encoder's empty evidence, oversized fields and bad tokens fail
	// before anything is sent.
	for _, m := range []evidenceMsg{
		{Kind: "k", Federation: "f"},
		{Kind: "k k", Federation: "f", Raw: []byte{1}},
		{Kind: "k", Federation: "f", Raw: make([]byte, MaxEvidenceSize+1)},
		{Kind: "k", Federation: "f", Raw: []byte{1}, Binding: make([]byte, MaxBindingSize+1)},
		{Kind: "k", Federation: "f", Raw: []byte{1}, Flags: 0x10},
	} {
		if _, err := m.marshal(); err == nil {
			t.Errorf("marshal(%+v) accepted", m.Kind)
		}
	}
}

func TestSanitizeReason(t *testing.T) {
	tests := map[string]string{
		"":                             "refused (no reason given)",
		"  ok  ":                       "ok",
		"a\nb\x1b[0m":                  "a b [0m",
		"bad \xff":                     "bad ?",
		"rtl \u202e override":          "rtl   override",
		strings.Repeat("é", 600) + "x": strings.Repeat("é", (MaxReasonSize-len("…"))/2) + "…",
	}
	for in, want := range tests {
		got := sanitizeReason(in)
		if got != want {
			t.Errorf("sanitizeReason(%q) = %q, want %q", in, got, want)
		}
		if _, err := parseRefusal([]byte(got)); err != nil {
			t.Errorf("sanitized %q does not parse: %v", got, err)
		}
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame reader and the payload
// decoders: no panic, no frame beyond its type's limit, and whatever
// decodes re-encodes to the same bytes (one encoding per message).
func FuzzReadFrame(f *testing.F) {
	sample := sampleEvidence()
	ev, _ := sample.marshal()
	for _, seed := range [][]byte{
		mustFrame(frameEvidence, ev),
		mustFrame(frameOK, okPayload(0)),
		mustFrame(frameOK, okPayload(flagWantEvidence)),
		mustFrame(frameRefusal, refusalPayload("attestation refused: simulated evidence: measurement 01 is not in the allowed list")),
		{1, 1, 0xff, 0xff, 0xff, 0xff},
		{1, 2, 0, 0, 0, 1, '\n'},
		{2, 3, 0, 0, 0, 1, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		typ, p, err := readFrame(r)
		if err != nil {
			return
		}
		max, ok := maxPayload(typ)
		if !ok || len(p) > max {
			t.Fatalf("%s frame of %d bytes accepted", typ, len(p))
		}
		if consumed := len(data) - r.Len(); consumed != frameHeaderLen+len(p) {
			t.Fatalf("read %d bytes for a %d-byte payload", consumed, len(p))
		}
		var again []byte
		switch typ {
		case frameEvidence:
			m, err := parseEvidence(p)
			if err != nil {
				return
			}
			if len(m.Raw) == 0 || len(m.Raw) > MaxEvidenceSize || len(m.Binding) > MaxBindingSize {
				t.Fatalf("accepted evidence of %d bytes, binding of %d", len(m.Raw), len(m.Binding))
			}
			if again, err = m.marshal(); err != nil {
				t.Fatalf("decoded evidence does not re-encode: %v", err)
			}
		case frameOK:
			flags, err := parseOK(p)
			if err != nil {
				return
			}
			again = okPayload(flags)
		case frameRefusal:
			reason, err := parseRefusal(p)
			if err != nil {
				return
			}
			if !utf8.ValidString(reason) || sanitizeReason(reason) != reason {
				t.Fatalf("accepted reason %q that the sender would not produce", reason)
			}
			again = refusalPayload(reason)
		}
		if !bytes.Equal(again, p) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, p)
		}
	})
}

func mustFrame(typ frameType, p []byte) []byte {
	var b bytes.Buffer
	if err := writeFrame(&b, typ, p); err != nil {
		panic(err)
	}
	return b.Bytes()
}
