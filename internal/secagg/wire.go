package secagg

import (
	"crypto"
	"io"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Limits of the decoders (the caller bounds the total message size).
const (
	maxSignatureLen = 256
	x25519KeyLen    = 32
	nonceLen        = 12
	// maxCiphertextLen bounds an encrypted share (a SharePlaintext and the
	// GCM tag are about 90 bytes).
	maxCiphertextLen = 256
)

// Stage aliases the wire enum.
type Stage = confedv1.SecAggStage

// The stages, in order.
const (
	StageAdvertise   = confedv1.SecAggStage_SEC_AGG_STAGE_ADVERTISE_KEYS
	StageShareKeys   = confedv1.SecAggStage_SEC_AGG_STAGE_SHARE_KEYS
	StageMaskedInput = confedv1.SecAggStage_SEC_AGG_STAGE_MASKED_INPUT
	StageConsistency = confedv1.SecAggStage_SEC_AGG_STAGE_CONSISTENCY
	StageUnmask      = confedv1.SecAggStage_SEC_AGG_STAGE_UNMASK
)

// signed is a decoded participant message: its body, the body's exact bytes
// (what the signature covers) and the signature.
type signed struct {
	body *confedv1.SecAggBody
	raw  []byte
	sig  []byte
}

var marshal = proto.MarshalOptions{Deterministic: true}

// encodeSigned signs and encodes body.
func encodeSigned(s crypto.Signer, r io.Reader, body *confedv1.SecAggBody) ([]byte, error) {
	raw, err := marshal.Marshal(body)
	if err != nil {
		return nil, err
	}
	sig, err := sign(s, r, raw)
	if err != nil {
		return nil, err
	}
	return marshal.Marshal(&confedv1.SecAggSigned{Body: raw, Signature: sig})
}

// DecodeSigned decodes a participant-to-server message strictly: no unknown
// fields, a 32-byte session, a known stage whose payload is the one set, a
// signature of sane length. It does not verify the signature (that needs
// the roster: see Server.Receive).
func DecodeSigned(b []byte) (*confedv1.SecAggSigned, *confedv1.SecAggBody, error) {
	var m confedv1.SecAggSigned
	if err := strict(b, &m); err != nil {
		return nil, nil, err
	}
	if n := len(m.GetSignature()); n == 0 || n > maxSignatureLen {
		return nil, nil, refuse(ReasonMalformed, "signature of %d bytes", n)
	}
	var body confedv1.SecAggBody
	if err := strict(m.GetBody(), &body); err != nil {
		return nil, nil, err
	}
	if err := checkBody(&body); err != nil {
		return nil, nil, err
	}
	return &m, &body, nil
}

func decodeSigned(b []byte) (*signed, error) {
	m, body, err := DecodeSigned(b)
	if err != nil {
		return nil, err
	}
	return &signed{body: body, raw: m.GetBody(), sig: m.GetSignature()}, nil
}

// checkBody checks the body's fields that need no roster.
func checkBody(b *confedv1.SecAggBody) error {
	if len(b.GetSession()) != 32 {
		return refuse(ReasonMalformed, "session of %d bytes, want 32", len(b.GetSession()))
	}
	ok := false
	switch b.GetStage() {
	case StageAdvertise:
		a := b.GetAdvertise()
		ok = a != nil && len(a.GetCipherPublicKey()) == x25519KeyLen && len(a.GetMaskPublicKey()) == x25519KeyLen
	case StageShareKeys:
		s := b.GetShareKeys()
		ok = s != nil && len(s.GetSelfMaskCommitment()) == 32
		for _, e := range s.GetShares() {
			ok = ok && checkEncryptedShare(e) == nil
		}
	case StageMaskedInput:
		mi := b.GetMaskedInput()
		inline, streamed := len(mi.GetMasked()) > 0, len(mi.GetSha256()) > 0
		ok = mi != nil && inline != streamed && len(mi.GetMasked())%4 == 0 && (!streamed || len(mi.GetSha256()) == 32)
	case StageConsistency:
		ok = b.GetConsistency() != nil && sortedUnique(b.GetConsistency().GetSurvivors())
	case StageUnmask:
		ok = b.GetUnmask() != nil
		for _, s := range b.GetUnmask().GetShares() {
			k := s.GetKind()
			ok = ok && len(s.GetShare()) == shareLen &&
				(k == confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_SELF_MASK || k == confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_MASK_KEY)
		}
	default:
		return refuse(ReasonMalformed, "unknown stage %d", b.GetStage())
	}
	if !ok {
		return refuse(ReasonMalformed, "stage %s: missing or malformed payload", b.GetStage())
	}
	return nil
}

func checkEncryptedShare(e *confedv1.SecAggEncryptedShare) error {
	if len(e.GetNonce()) != nonceLen || len(e.GetCiphertext()) == 0 || len(e.GetCiphertext()) > maxCiphertextLen {
		return refuse(ReasonMalformed, "encrypted share from %d to %d: bad nonce or ciphertext length", e.GetFrom(), e.GetTo())
	}
	return nil
}

// DecodeServerMessage decodes a server-to-participant message strictly: no
// unknown fields, a 32-byte session, a stage a server message can start
// (share keys to unmask), lists of bounded size, well-formed entries. The
// recipient checks the contents against what it knows.
func DecodeServerMessage(b []byte) (*confedv1.SecAggServerMessage, error) {
	var m confedv1.SecAggServerMessage
	if err := strict(b, &m); err != nil {
		return nil, err
	}
	if len(m.GetSession()) != 32 {
		return nil, refuse(ReasonMalformed, "session of %d bytes, want 32", len(m.GetSession()))
	}
	if s := m.GetStage(); s < StageShareKeys || s > StageUnmask {
		return nil, refuse(ReasonMalformed, "server message for stage %d", s)
	}
	if len(m.GetAdvertisements()) > MaxParticipants || len(m.GetShares()) > MaxParticipants ||
		len(m.GetSurvivors()) > MaxParticipants || len(m.GetSignatures()) > MaxParticipants {
		return nil, refuse(ReasonMalformed, "list longer than %d", MaxParticipants)
	}
	for _, e := range m.GetShares() {
		if err := checkEncryptedShare(e); err != nil {
			return nil, err
		}
	}
	if !sortedUnique(m.GetSurvivors()) {
		return nil, refuse(ReasonMalformed, "survivors not sorted and unique")
	}
	return &m, nil
}

// decodeSharePlaintext decodes a decrypted share strictly.
func decodeSharePlaintext(b []byte) (*confedv1.SecAggSharePlaintext, error) {
	var m confedv1.SecAggSharePlaintext
	if err := strict(b, &m); err != nil {
		return nil, err
	}
	if len(m.GetMaskKeyShare()) != shareLen || len(m.GetSelfMaskShare()) != shareLen {
		return nil, refuse(ReasonMalformed, "share plaintext: shares of %d and %d bytes, want %d",
			len(m.GetMaskKeyShare()), len(m.GetSelfMaskShare()), shareLen)
	}
	return &m, nil
}

// strict unmarshals b into m and refuses unknown fields anywhere in it.
func strict(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return refuse(ReasonMalformed, "%v", err)
	}
	if hasUnknown(m.ProtoReflect()) {
		return refuse(ReasonMalformed, "unknown fields in %s", m.ProtoReflect().Descriptor().Name())
	}
	return nil
}

func hasUnknown(m protoreflect.Message) bool {
	if len(m.GetUnknown()) > 0 {
		return true
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := range l.Len() {
				found = found || hasUnknown(l.Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap():
			found = hasUnknown(v.Message())
		}
		return !found
	})
	return found
}

func sortedUnique(s []uint32) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}
