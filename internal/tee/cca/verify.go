package cca

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"

	"github.com/confed/confed/internal/tee/cose"
)

// Token is a verified CCA token.
type Token struct {
	Platform *Platform
	Realm    *Realm
	// PlatformAlg and RealmAlg are the COSE algorithms of the two tokens.
	PlatformAlg, RealmAlg int64
	// PlatformKey is the index in the trusted keys of the key that signed
	// the platform token.
	PlatformKey int
}

// parsed is a decoded, unverified token.
type parsed struct {
	platSign, realmSign *cose.Sign1
	platform            *Platform
	realm               *Realm
}

// ParseToken decodes a CCA token without verifying it.
func parseToken(raw []byte) (*parsed, error) {
	platRaw, realmRaw, err := splitCollection(raw)
	if err != nil {
		return nil, fmt.Errorf("arm-cca: malformed token: %w", err)
	}
	p := &parsed{}
	if p.platSign, err = cose.ParseSign1(platRaw); err != nil {
		return nil, fmt.Errorf("arm-cca: malformed platform token: %w", err)
	}
	if p.realmSign, err = cose.ParseSign1(realmRaw); err != nil {
		return nil, fmt.Errorf("arm-cca: malformed realm token: %w", err)
	}
	if p.platform, err = parsePlatform(p.platSign.Payload); err != nil {
		return nil, fmt.Errorf("arm-cca: malformed token: %w", err)
	}
	if p.realm, err = parseRealm(p.realmSign.Payload); err != nil {
		return nil, fmt.Errorf("arm-cca: malformed token: %w", err)
	}
	return p, nil
}

// VerifyToken parses raw and verifies it: the realm token's signature with
// the RAK it carries, the platform token's signature with one of
// platformKeys, and that the platform challenge is the hash of the RAK.
// It checks nothing of the policy.
func VerifyToken(raw []byte, platformKeys []*ecdsa.PublicKey) (*Token, error) {
	p, err := parseToken(raw)
	if err != nil {
		return nil, err
	}
	if p.realmSign.Alg != cose.AlgES384 {
		return nil, fmt.Errorf("arm-cca: realm token signed with %s, want ES384", cose.AlgName(p.realmSign.Alg))
	}
	if err := p.realmSign.Verify(p.realm.RAK); err != nil {
		return nil, fmt.Errorf("arm-cca: realm token: %w", err)
	}
	t := &Token{Platform: p.platform, Realm: p.realm, PlatformAlg: p.platSign.Alg, RealmAlg: p.realmSign.Alg, PlatformKey: -1}
	var lastErr error
	for i, k := range platformKeys {
		if lastErr = p.platSign.Verify(k); lastErr == nil {
			t.PlatformKey = i
			break
		}
	}
	if t.PlatformKey < 0 {
		return nil, fmt.Errorf("arm-cca: platform token is not signed by any trusted platform key (%d keys; last: %v)", len(platformKeys), lastErr)
	}
	newHash, err := hashByName(p.realm.RAKHashAlg)
	if err != nil {
		return nil, fmt.Errorf("arm-cca: realm public key hash: %w", err)
	}
	h := newHash()
	h.Write(p.realm.RAKRaw)
	if !bytes.Equal(h.Sum(nil), p.platform.Challenge) {
		return nil, fmt.Errorf("arm-cca: the platform challenge is not the %s of the realm public key: the realm token does not belong to this platform token", p.realm.RAKHashAlg)
	}
	return t, nil
}
