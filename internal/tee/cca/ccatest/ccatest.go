// Package ccatest builds genuinely signed Arm CCA tokens (tag 399
// collection of a platform token signed by a test platform key and a realm
// token signed by a fresh RAK), for tests.
package ccatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"

	"github.com/confed/confed/internal/tee/cose"
	"github.com/fxamacker/cbor/v2"
)

// Platform is a fake CCA platform.
type Platform struct{ key *ecdsa.PrivateKey }

// NewPlatform makes a platform with a P-384 attestation key.
func NewPlatform() (*Platform, error) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	return &Platform{key: k}, err
}

// KeyPEM is the platform key's public half, as a policy lists it.
func (p *Platform) KeyPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Realm is what a fake realm token says.
type Realm struct {
	Challenge       []byte // 64 bytes
	RIM             []byte
	Personalization []byte // 64 bytes
	Lifecycle       uint64 // of the platform; 0 means 0x3000 (secured)
	// BadBinding puts a wrong RAK hash in the platform challenge.
	BadBinding bool
}

// Token issues a CCA token.
func (p *Platform) Token(r Realm) ([]byte, error) {
	rak, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rakRaw, err := rak.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	pers := r.Personalization
	if pers == nil {
		pers = make([]byte, 64)
	}
	zero := make([]byte, len(r.RIM))
	realmClaims, err := cose.Marshal(map[int64]any{
		10: r.Challenge, 44235: pers, 44236: "sha-256", 44237: rakRaw,
		44238: r.RIM, 44239: [][]byte{zero, zero, zero, zero}, 44240: "sha-512",
	})
	if err != nil {
		return nil, err
	}
	realmTok, err := cose.Sign(rak, realmClaims, true)
	if err != nil {
		return nil, err
	}
	challenge := sha512.Sum512(rakRaw)
	if r.BadBinding {
		challenge[0] ^= 1
	}
	lc := r.Lifecycle
	if lc == 0 {
		lc = 0x3000
	}
	instance := append([]byte{1}, make([]byte, 32)...)
	platClaims, err := cose.Marshal(map[int64]any{
		265: "tag:arm.com,2023:cca_platform#1.0.0", 10: challenge[:], 2396: make([]byte, 32),
		256: instance, 2401: []byte{1}, 2395: lc, 2402: "sha-256",
		2399: []map[int64]any{{2: make([]byte, 32), 5: make([]byte, 32)}},
	})
	if err != nil {
		return nil, err
	}
	platTok, err := cose.Sign(p.key, platClaims, true)
	if err != nil {
		return nil, err
	}
	return cose.Marshal(cbor.Tag{Number: 399, Content: map[uint64][]byte{44234: platTok, 44241: realmTok}})
}
