package cca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"github.com/confed/confed/internal/tee/cose"
	"github.com/fxamacker/cbor/v2"
)

// Realm claim keys (RMM specification, A7.2.3).
const (
	claimChallenge       = 10
	claimProfile         = 265
	claimPersonalization = 44235
	claimHashAlg         = 44236
	claimRAK             = 44237
	claimRIM             = 44238
	claimREMs            = 44239
	claimRAKHashAlg      = 44240
)

// Platform claim keys.
const (
	claimInstanceID   = 256
	claimLifecycle    = 2395
	claimImplID       = 2396
	claimSWComponents = 2399
	claimVerifService = 2400
	claimConfig       = 2401
	claimPlatHashAlg  = 2402
)

// Realm is the realm token's claims.
type Realm struct {
	Profile         string
	Challenge       []byte
	Personalization []byte
	HashAlg         string
	RAKRaw          []byte // the claim as carried (raw point or COSE_Key)
	RAK             *ecdsa.PublicKey
	RAKHashAlg      string
	RIM             []byte
	REMs            [][]byte
}

// Platform is the platform token's claims.
type Platform struct {
	Profile          string
	Challenge        []byte
	ImplementationID []byte
	InstanceID       []byte
	Config           []byte
	Lifecycle        uint64
	HashAlg          string
	Service          string
	SWComponents     []SWComponent
}

// SWComponent is one measured platform software component.
type SWComponent struct {
	Type     string `cbor:"1,keyasint,omitempty"`
	Value    []byte `cbor:"2,keyasint"`
	Version  string `cbor:"4,keyasint,omitempty"`
	SignerID []byte `cbor:"5,keyasint"`
	HashAlg  string `cbor:"6,keyasint,omitempty"`
}

type claimMap map[int64]cbor.RawMessage

func decodeClaims(payload []byte) (claimMap, error) {
	var m claimMap
	if err := cose.DecMode.Unmarshal(payload, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, errNoClaims
	}
	return m, nil
}

func (m claimMap) get(key int64, v any, required bool) error {
	raw, ok := m[key]
	if !ok {
		if required {
			return fmt.Errorf("claim %d is missing", key)
		}
		return nil
	}
	if err := cose.DecMode.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("claim %d: %v", key, err)
	}
	return nil
}

func parseRealm(payload []byte) (*Realm, error) {
	m, err := decodeClaims(payload)
	if err != nil {
		return nil, fmt.Errorf("realm claims: %w", err)
	}
	r := &Realm{}
	for _, g := range []struct {
		key int64
		v   any
		req bool
	}{
		{claimProfile, &r.Profile, false}, {claimChallenge, &r.Challenge, true},
		{claimPersonalization, &r.Personalization, true}, {claimHashAlg, &r.HashAlg, true},
		{claimRAK, &r.RAKRaw, true}, {claimRAKHashAlg, &r.RAKHashAlg, true},
		{claimRIM, &r.RIM, true}, {claimREMs, &r.REMs, true},
	} {
		if err := m.get(g.key, g.v, g.req); err != nil {
			return nil, fmt.Errorf("realm claims: %w", err)
		}
	}
	switch {
	case len(r.Challenge) != 64:
		return nil, fmt.Errorf("realm claims: challenge is %d bytes, want 64", len(r.Challenge))
	case len(r.Personalization) != 64:
		return nil, fmt.Errorf("realm claims: personalisation value is %d bytes, want 64", len(r.Personalization))
	case !measLen(len(r.RIM)):
		return nil, fmt.Errorf("realm claims: initial measurement is %d bytes, want 32, 48 or 64", len(r.RIM))
	case len(r.REMs) != 4:
		return nil, fmt.Errorf("realm claims: %d extensible measurements, want 4", len(r.REMs))
	}
	if r.RAK, err = parseRAK(r.RAKRaw); err != nil {
		return nil, fmt.Errorf("realm claims: public key: %w", err)
	}
	return r, nil
}

func measLen(n int) bool { return n == 32 || n == 48 || n == 64 }

// parseRAK reads the realm public key: an uncompressed P-384 point (RMM
// 1.0) or a COSE_Key (EC2, P-384).
func parseRAK(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) == 97 && b[0] == 4 {
		return point(b[1:49], b[49:])
	}
	var k map[int64]cbor.RawMessage
	if err := cose.DecMode.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("neither a P-384 point nor a COSE_Key: %v", err)
	}
	var kty, crv int64
	var x, y []byte
	for _, f := range []struct {
		l int64
		v any
	}{{1, &kty}, {-1, &crv}, {-2, &x}, {-3, &y}} {
		raw, ok := k[f.l]
		if !ok {
			return nil, fmt.Errorf("COSE_Key has no label %d", f.l)
		}
		if err := cose.DecMode.Unmarshal(raw, f.v); err != nil {
			return nil, fmt.Errorf("COSE_Key label %d: %v", f.l, err)
		}
	}
	if kty != 2 || crv != 2 {
		return nil, fmt.Errorf("COSE_Key kty %d crv %d, want EC2 (2) P-384 (2)", kty, crv)
	}
	return point(x, y)
}

func point(x, y []byte) (*ecdsa.PublicKey, error) {
	if len(x) != 48 || len(y) != 48 {
		return nil, fmt.Errorf("P-384 coordinates of %d and %d bytes", len(x), len(y))
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("not a P-384 public key: %v", err)
	}
	return pub, nil
}

func parsePlatform(payload []byte) (*Platform, error) {
	m, err := decodeClaims(payload)
	if err != nil {
		return nil, fmt.Errorf("platform claims: %w", err)
	}
	p := &Platform{}
	for _, g := range []struct {
		key int64
		v   any
		req bool
	}{
		{claimProfile, &p.Profile, true}, {claimChallenge, &p.Challenge, true},
		{claimImplID, &p.ImplementationID, true}, {claimInstanceID, &p.InstanceID, true},
		{claimConfig, &p.Config, true}, {claimLifecycle, &p.Lifecycle, true},
		{claimPlatHashAlg, &p.HashAlg, true}, {claimVerifService, &p.Service, false},
		{claimSWComponents, &p.SWComponents, true},
	} {
		if err := m.get(g.key, g.v, g.req); err != nil {
			return nil, fmt.Errorf("platform claims: %w", err)
		}
	}
	if !measLen(len(p.Challenge)) {
		return nil, fmt.Errorf("platform claims: challenge is %d bytes, want 32, 48 or 64", len(p.Challenge))
	}
	if len(p.ImplementationID) != 32 || len(p.InstanceID) != 33 {
		return nil, fmt.Errorf("platform claims: implementation ID %d bytes (want 32), instance ID %d bytes (want 33)", len(p.ImplementationID), len(p.InstanceID))
	}
	return p, nil
}

// hashByName returns the hash an algorithm identifier names.
func hashByName(name string) (func() hash.Hash, error) {
	switch name {
	case "sha-256":
		return sha256.New, nil
	case "sha-384":
		return sha512.New384, nil
	case "sha-512":
		return sha512.New, nil
	}
	return nil, fmt.Errorf("hash algorithm %q is not supported (want sha-256, sha-384 or sha-512)", name)
}
