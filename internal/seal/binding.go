package seal

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
)

// bindingVersion prefixes every AggregatorBinding encoding.
const bindingVersion = 1

// AggregatorBinding is what the aggregator binds into the evidence of every
// attested connection: the round it is collecting (0 if none), its
// model-signing key and the public half of that round's RoundKey (empty if
// no round is open). A participant seals its update only to a RoundKey it
// received this way.
type AggregatorBinding struct {
	Round      uint64
	SigningKey ed25519.PublicKey
	RoundKey   []byte
}

// Marshal encodes b: version (1) | round (8) | signing key (32) | round key.
func (b AggregatorBinding) Marshal() []byte {
	out := make([]byte, 0, 1+8+ed25519.PublicKeySize+len(b.RoundKey))
	out = append(out, bindingVersion)
	out = binary.BigEndian.AppendUint64(out, b.Round)
	out = append(out, b.SigningKey...)
	return append(out, b.RoundKey...)
}

// ParseAggregatorBinding decodes what Marshal wrote.
func ParseAggregatorBinding(p []byte) (AggregatorBinding, error) {
	const fixed = 1 + 8 + ed25519.PublicKeySize
	if len(p) < fixed {
		return AggregatorBinding{}, fmt.Errorf("aggregator binding of %d bytes is shorter than %d", len(p), fixed)
	}
	if p[0] != bindingVersion {
		return AggregatorBinding{}, fmt.Errorf("aggregator binding version %d, want %d", p[0], bindingVersion)
	}
	b := AggregatorBinding{
		Round:      binary.BigEndian.Uint64(p[1:9]),
		SigningKey: ed25519.PublicKey(append([]byte(nil), p[9:fixed]...)),
	}
	if rest := p[fixed:]; len(rest) > 0 {
		if len(rest) != PublicKeySize {
			return AggregatorBinding{}, fmt.Errorf("aggregator round key has %d bytes, want %d", len(rest), PublicKeySize)
		}
		b.RoundKey = append([]byte(nil), rest...)
	}
	return b, nil
}

// ErrNoRoundKey is returned when the aggregator has no round open.
var ErrNoRoundKey = errors.New("the aggregator has no round open (no round key in its attested binding)")

// KeyFor returns the round key if b is for round r.
func (b AggregatorBinding) KeyFor(r uint64) ([]byte, error) {
	if len(b.RoundKey) == 0 {
		return nil, ErrNoRoundKey
	}
	if b.Round != r {
		return nil, fmt.Errorf("the aggregator's attested round key is for round %d, not round %d", b.Round, r)
	}
	return b.RoundKey, nil
}
