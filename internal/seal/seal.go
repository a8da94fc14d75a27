package seal

import (
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"
)

// Suite and format constants.
const (
	// Version is the stream header version written by this package.
	// Version 1 sealed chunks with the HPKE context's own AES-256-GCM
	// (crypto/hpke's Seal and Open, a fresh output buffer per chunk);
	// version 2 uses an export-only context and seals chunks with
	// AES-256-GCM under an exported key (see the package documentation).
	Version = 2

	// KEMID is HPKE's identifier of MLKEM768-X25519 (X-Wing).
	KEMID = 0x647a
	// KDFID is HPKE's identifier of HKDF-SHA256.
	KDFID = 0x0001
	// AEADID is HPKE's identifier of the export-only AEAD: the HPKE
	// context itself seals nothing; the chunks are AES-256-GCM under a key
	// exported from it (ChunkAEAD).
	AEADID = 0xFFFF
	// ChunkAEAD names the chunks' AEAD: AES-256-GCM, key and base nonce
	// exported from the stream's HPKE context.
	ChunkAEAD = "AES-256-GCM"

	// PublicKeySize is the size of [RoundKey.PublicKey]: an ML-KEM-768
	// encapsulation key (1184 bytes) followed by an X25519 public key.
	PublicKeySize = 1184 + 32
	// EncSize is the size of the KEM encapsulation in the stream header: an
	// ML-KEM-768 ciphertext (1088 bytes) followed by an X25519 ephemeral
	// public key.
	EncSize = 1088 + 32
	// ConfirmSize is the size of the key confirmation in the stream header.
	ConfirmSize = 32

	// HeaderFixedSize is the size of a stream header without the
	// federation, measurement and participant bytes.
	HeaderFixedSize = 1 + 2 + 2 + 2 + 8 + 1 + 1 + 1 + 2 + EncSize + ConfirmSize

	// Overhead is how many bytes longer a sealed chunk is than its
	// plaintext (the AES-GCM tag).
	Overhead = 16

	// MaxCiphertextChunk bounds a sealed chunk. It equals
	// stream.MaxChunkSize, the bound the aggregator already applies to
	// chunk data.
	MaxCiphertextChunk = 4 << 20
	// MaxPlaintextChunk bounds the plaintext of one chunk.
	MaxPlaintextChunk = MaxCiphertextChunk - Overhead

	// MaxNameLen bounds the federation, participant and measurement in a
	// Context (the header stores each with a 1-byte length).
	MaxNameLen = 255

	// MaxStreamsPerKey bounds how many streams one round key opens; its
	// replay memory is 32 bytes per stream.
	MaxStreamsPerKey = 1 << 16
)

// Labels for domain separation.
const (
	labelInfo    = "confed/v1/sealed-update/info"
	labelAAD     = "confed/v1/sealed-update/chunk"
	labelConfirm = "confed/v1/sealed-update/key-confirmation"
	// The chunk AEAD's key and base nonce (version 2).
	labelChunkKey   = "confed/v2/sealed-update/chunk-key"
	labelChunkNonce = "confed/v2/sealed-update/chunk-nonce"
)

// Errors. Every refusal wraps one of them (a sticky stream failure wraps
// ErrStreamFailed and the original refusal), so callers can test with
// errors.Is; only failures of the randomness source or of crypto/hpke
// itself are returned unwrapped.
var (
	// ErrInvalidContext: a Context field is empty or too long.
	ErrInvalidContext = errors.New("seal: invalid context")
	// ErrInvalidPublicKey: the public key given to NewSealer is not an
	// MLKEM768-X25519 public key.
	ErrInvalidPublicKey = errors.New("seal: invalid public key")
	// ErrMalformedHeader: the stream header cannot be parsed.
	ErrMalformedHeader = errors.New("seal: malformed stream header")
	// ErrUnsupportedSuite: the header names another version or HPKE suite.
	ErrUnsupportedSuite = errors.New("seal: unsupported version or suite")
	// ErrWrongFederation: the stream was sealed for another federation.
	ErrWrongFederation = errors.New("seal: stream sealed for another federation")
	// ErrWrongRound: the stream was sealed for another round.
	ErrWrongRound = errors.New("seal: stream sealed for another round")
	// ErrWrongMeasurement: the stream was sealed for an aggregator with
	// another measurement.
	ErrWrongMeasurement = errors.New("seal: stream sealed for another aggregator measurement")
	// ErrWrongParticipant: the stream was sealed by (for) another
	// participant than the one submitting it.
	ErrWrongParticipant = errors.New("seal: stream sealed for another participant")
	// ErrKeyMismatch: key confirmation failed: the stream was sealed to
	// another round key, or the header's claimed binding is false.
	ErrKeyMismatch = errors.New("seal: key confirmation failed (another round key, or a forged header)")
	// ErrReplayedStream: this stream header was already opened with this
	// round key.
	ErrReplayedStream = errors.New("seal: stream replayed")
	// ErrTooManyStreams: the round key has opened MaxStreamsPerKey streams.
	ErrTooManyStreams = errors.New("seal: too many streams for one round key")
	// ErrKeyDestroyed: the round key was destroyed.
	ErrKeyDestroyed = errors.New("seal: round key destroyed")
	// ErrOutOfOrder: a chunk arrived with a sequence number above the next
	// expected one (a gap or a reordering).
	ErrOutOfOrder = errors.New("seal: chunk out of order")
	// ErrDuplicate: a chunk arrived with a sequence number already
	// accepted.
	ErrDuplicate = errors.New("seal: duplicate chunk")
	// ErrTampered: a chunk failed authentication.
	ErrTampered = errors.New("seal: chunk failed authentication")
	// ErrChunkTooLarge: a chunk exceeds MaxCiphertextChunk (or, when
	// sealing, MaxPlaintextChunk).
	ErrChunkTooLarge = errors.New("seal: chunk too large")
	// ErrEmptyChunk: the sender sealed an empty chunk that is not the
	// final one.
	ErrEmptyChunk = errors.New("seal: empty chunk before the final one")
	// ErrAfterLast: a chunk came after the final chunk.
	ErrAfterLast = errors.New("seal: chunk after the final chunk")
	// ErrTruncated: the stream ended without its final chunk.
	ErrTruncated = errors.New("seal: stream ended without its final chunk")
	// ErrStreamFailed: an earlier chunk of this stream was refused.
	ErrStreamFailed = errors.New("seal: stream already failed")
)

// Context is what a stream is bound to. The sender fills it from the
// round's task and the aggregator's verified claims; the aggregator fills it
// from its own state and the client certificate, never from the stream.
type Context struct {
	// Federation is the federation name.
	Federation string
	// Round is the round the update is for.
	Round uint64
	// AggregatorMeasurement is the aggregator's TEE measurement, as the
	// sender verified it (sender) or as the aggregator's own evidence
	// states it (receiver).
	AggregatorMeasurement []byte
	// Participant is the submitting participant's name (the identity in
	// its certificate).
	Participant string
}

func (c Context) validate() error {
	check := func(field string, n int) error {
		if n == 0 || n > MaxNameLen {
			return fmt.Errorf("%w: %s has %d bytes, want 1..%d", ErrInvalidContext, field, n, MaxNameLen)
		}
		return nil
	}
	if err := check("federation", len(c.Federation)); err != nil {
		return err
	}
	if err := check("aggregator measurement", len(c.AggregatorMeasurement)); err != nil {
		return err
	}
	return check("participant", len(c.Participant))
}

func suite() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.ExportOnly() }

func appendPart(b, p []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(p)))
	return append(b, p...)
}

// info is the HPKE info string of a stream.
func (c Context) info() []byte {
	var round [8]byte
	binary.BigEndian.PutUint64(round[:], c.Round)
	b := make([]byte, 0, 5*8+len(labelInfo)+len(c.Federation)+8+len(c.AggregatorMeasurement)+len(c.Participant))
	b = appendPart(b, []byte(labelInfo))
	b = appendPart(b, []byte(c.Federation))
	b = appendPart(b, round[:])
	b = appendPart(b, c.AggregatorMeasurement)
	b = appendPart(b, []byte(c.Participant))
	return b
}

// aadPrefix is the part of every chunk's AAD that does not change within a
// stream; appendAAD completes it.
func (c Context) aadPrefix() []byte {
	b := make([]byte, 0, 2*8+len(labelAAD)+len(c.Participant)+8+8+1)
	b = appendPart(b, []byte(labelAAD))
	b = appendPart(b, []byte(c.Participant))
	return binary.BigEndian.AppendUint64(b, c.Round)
}

// appendAAD returns prefix ‖ seq ‖ last, reusing prefix's spare capacity.
func appendAAD(prefix []byte, seq uint64, last bool) []byte {
	b := binary.BigEndian.AppendUint64(prefix, seq)
	if last {
		return append(b, 1)
	}
	return append(b, 0)
}

// header is a parsed stream header.
type header struct {
	round       uint64
	federation  []byte
	measurement []byte
	participant []byte
	enc         []byte
	confirm     []byte
}

func (c Context) marshalHeader(enc, confirm []byte) []byte {
	b := make([]byte, 0, HeaderFixedSize+len(c.Federation)+len(c.AggregatorMeasurement)+len(c.Participant))
	b = append(b, Version)
	b = binary.BigEndian.AppendUint16(b, KEMID)
	b = binary.BigEndian.AppendUint16(b, KDFID)
	b = binary.BigEndian.AppendUint16(b, AEADID)
	b = binary.BigEndian.AppendUint64(b, c.Round)
	b = append(b, byte(len(c.Federation)))
	b = append(b, c.Federation...)
	b = append(b, byte(len(c.AggregatorMeasurement)))
	b = append(b, c.AggregatorMeasurement...)
	b = append(b, byte(len(c.Participant)))
	b = append(b, c.Participant...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(enc)))
	b = append(b, enc...)
	return append(b, confirm...)
}

// parseHeader parses b. The returned slices alias b.
func parseHeader(b []byte) (*header, error) {
	r := reader{b: b}
	version := r.u8()
	kem, kdf, aead := r.u16(), r.u16(), r.u16()
	if r.err != nil {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformedHeader, len(b))
	}
	if version != Version || kem != KEMID || kdf != KDFID || aead != AEADID {
		return nil, fmt.Errorf("%w: version %d, suite %#04x/%#04x/%#04x; this build reads version %d, suite %#04x/%#04x/%#04x",
			ErrUnsupportedSuite, version, kem, kdf, aead, Version, KEMID, KDFID, AEADID)
	}
	h := &header{round: r.u64()}
	h.federation = r.bytes(int(r.u8()))
	h.measurement = r.bytes(int(r.u8()))
	h.participant = r.bytes(int(r.u8()))
	encLen := int(r.u16())
	if r.err == nil && encLen != EncSize {
		return nil, fmt.Errorf("%w: encapsulated key of %d bytes, want %d", ErrMalformedHeader, encLen, EncSize)
	}
	h.enc = r.bytes(encLen)
	h.confirm = r.bytes(ConfirmSize)
	if r.err != nil {
		return nil, fmt.Errorf("%w: %d bytes, truncated", ErrMalformedHeader, len(b))
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformedHeader, len(r.b))
	}
	if len(h.federation) == 0 || len(h.measurement) == 0 || len(h.participant) == 0 {
		return nil, fmt.Errorf("%w: empty federation, measurement or participant", ErrMalformedHeader)
	}
	return h, nil
}

// reader consumes b; after the first short read every read returns zero
// values and err is set.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = ErrMalformedHeader
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8() uint8 {
	if p := r.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.bytes(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.bytes(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}
