package secagg

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/confed/confed/internal/fixedpoint"
)

// MaxParticipants bounds the roster of one session.
const MaxParticipants = 1 << 16

// Peer is one participant of a session: its name (from its certificate) and
// the public key its messages are signed with (*ecdsa.PublicKey on P-256,
// the key of its TLS certificate, or ed25519.PublicKey).
type Peer struct {
	Name string
	Key  crypto.PublicKey
}

// Config is what every party of one session must agree on. A participant's
// id is its index in Peers.
type Config struct {
	// Session identifies the session (see SessionID); every message carries
	// it, so a message of another round is refused.
	Session [32]byte
	// Peers is the roster, in the same order for every party.
	Peers []Peer
	// Threshold is t: how many shares reconstruct a secret. Each secret is
	// shared among its owner and its neighbours (Holders of them).
	Threshold int
	// Degree is the number of neighbours of each participant: 0 (or n−1 and
	// more) for the complete graph; otherwise even.
	Degree int
	// Params is the ring and quantisation (Bits 32).
	Params fixedpoint.Params
	// Length is the number of elements of an update (d); the masked vector
	// has d+1 elements, the last one the weight.
	Length int
}

// Holders is how many parties hold shares of each participant's secrets:
// the participant and its neighbours.
func Holders(n, degree int) int {
	if degree <= 0 || degree >= n-1 {
		return n
	}
	return degree + 1
}

// CheckThreshold reports whether threshold t is safe and reachable for n
// participants with the given neighbour degree; the error names the reason.
func CheckThreshold(n, degree, t int) error {
	switch {
	case n < 2:
		return fmt.Errorf("secure aggregation needs at least 2 participants, got %d", n)
	case degree < 0:
		return fmt.Errorf("neighbour degree must be >= 0 (0 is the complete graph), got %d", degree)
	case degree > 0 && degree < n-1 && degree%2 != 0:
		return fmt.Errorf("neighbour degree must be even (each participant's neighbours are the degree/2 before and after it on a shuffled ring) or 0 for the complete graph, got %d", degree)
	}
	h := Holders(n, degree)
	switch {
	case t > h:
		return fmt.Errorf("threshold %d exceeds the %d parties holding each participant's shares (itself and its neighbours): no secret could be reconstructed", t, h)
	case 2*t <= h:
		return fmt.Errorf("threshold %d must exceed half of the %d parties holding each participant's shares (at least %d), or a server telling half of a participant's neighbours it dropped and the other half it survived could collect both its secrets", t, h, h/2+1)
	}
	return nil
}

// Validate checks c: the threshold (CheckThreshold), the roster (names
// unique, supported keys), the ring (Params valid with Bits 32 and room for
// the sum of the weights), and the length.
func (c Config) Validate() error {
	n := len(c.Peers)
	if n > MaxParticipants {
		return fmt.Errorf("secagg: %d participants, at most %d", n, MaxParticipants)
	}
	if err := CheckThreshold(n, c.Degree, c.Threshold); err != nil {
		return fmt.Errorf("secagg: %w", err)
	}
	seen := make(map[string]bool, n)
	for i, p := range c.Peers {
		if p.Name == "" || seen[p.Name] {
			return fmt.Errorf("secagg: Peers[%d]: empty or duplicate name %q", i, p.Name)
		}
		seen[p.Name] = true
		if _, err := publicKeyBytes(p.Key); err != nil {
			return fmt.Errorf("secagg: Peers[%d] (%s): %w", i, p.Name, err)
		}
	}
	p := c.Params
	if p.Bits != 32 {
		return fmt.Errorf("secagg: Params.Bits = %d, want 32", p.Bits)
	}
	if p.MaxParticipants < n {
		return fmt.Errorf("secagg: Params.MaxParticipants = %d, fewer than the %d participants", p.MaxParticipants, n)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("secagg: %w", err)
	}
	if float64(p.MaxWeight)*float64(n) >= math.MaxInt32 {
		return fmt.Errorf("secagg: %d participants × max weight %d could wrap the weight element of the 32-bit ring", n, p.MaxWeight)
	}
	if c.Length < 1 || c.Length >= math.MaxInt32/4 {
		return fmt.Errorf("secagg: Length = %d, want 1 to %d", c.Length, math.MaxInt32/4-1)
	}
	return nil
}

// publicKeyBytes returns a supported signing key's PKIX encoding.
func publicKeyBytes(k crypto.PublicKey) ([]byte, error) {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA signing keys must be on P-256")
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 public key length")
		}
	default:
		return nil, fmt.Errorf("unsupported signing key type %T (want ECDSA P-256 or Ed25519)", k)
	}
	return x509.MarshalPKIXPublicKey(k)
}

// SessionID binds a session to the federation, the round, the round's
// public seed and everything in c but Session: parties that disagree on
// any of them get different sessions and refuse each other's messages.
func SessionID(federation string, round uint64, seed []byte, c Config) ([32]byte, error) {
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}
	num := func(v uint64) { field(binary.BigEndian.AppendUint64(nil, v)) }
	field([]byte("confed secagg+ v1 session"))
	field([]byte(federation))
	num(round)
	field(seed)
	num(uint64(len(c.Peers)))
	for i, p := range c.Peers {
		der, err := publicKeyBytes(p.Key)
		if err != nil {
			return [32]byte{}, fmt.Errorf("secagg: Peers[%d]: %w", i, err)
		}
		field([]byte(p.Name))
		field(der)
	}
	num(uint64(c.Threshold))
	num(uint64(c.Degree))
	num(uint64(c.Params.Bits))
	num(math.Float64bits(c.Params.Clip))
	num(math.Float64bits(c.Params.Scale))
	num(c.Params.MaxWeight)
	num(uint64(c.Params.MaxParticipants))
	num(uint64(c.Length))
	var id [32]byte
	h.Sum(id[:0])
	return id, nil
}
