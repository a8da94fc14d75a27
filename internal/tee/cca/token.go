package cca

import (
	"errors"
	"fmt"

	"github.com/confed/confed/internal/tee/cose"
	"github.com/fxamacker/cbor/v2"
)

// CBOR tags and keys of a CCA token.
const (
	TagCollection    = 399   // EAT collection (RMM specification)
	TagCMWCollection = 907   // CMW collection
	KeyPlatform      = 44234 // platform token
	KeyRealm         = 44241 // realm (delegated) token
)

// cmwContentType is the CoAP content format TF-RMM gives both tokens in
// a CMW collection (application/eat+cwt). The framing is not signed, so it
// is checked exactly.
const cmwContentType = 263

// MaxTokenSize bounds a CCA token.
const MaxTokenSize = 64 << 10

// splitCollection returns the platform and realm COSE_Sign1 messages of a
// CCA token.
func splitCollection(raw []byte) (platform, realm []byte, err error) {
	if len(raw) > MaxTokenSize {
		return nil, nil, fmt.Errorf("%d bytes, more than the %d-byte limit", len(raw), MaxTokenSize)
	}
	var tag cbor.RawTag
	if err := cose.DecMode.Unmarshal(raw, &tag); err != nil {
		return nil, nil, fmt.Errorf("not a tagged CBOR collection: %w", err)
	}
	var m map[uint64]cbor.RawMessage
	if err := cose.DecMode.Unmarshal(tag.Content, &m); err != nil {
		return nil, nil, fmt.Errorf("collection is not a map: %w", err)
	}
	if len(m) != 2 {
		return nil, nil, fmt.Errorf("collection has %d entries, want the platform (%d) and realm (%d) tokens", len(m), KeyPlatform, KeyRealm)
	}
	get := func(key uint64, name string) ([]byte, error) {
		v, ok := m[key]
		if !ok {
			return nil, fmt.Errorf("no %s token (key %d)", name, key)
		}
		var b []byte
		switch tag.Number {
		case TagCollection:
			err = cose.DecMode.Unmarshal(v, &b)
		case TagCMWCollection:
			var cmw struct {
				_     struct{} `cbor:",toarray"`
				CType uint64
				Value []byte
			}
			err = cose.DecMode.Unmarshal(v, &cmw)
			if err == nil && cmw.CType != cmwContentType {
				return nil, fmt.Errorf("%s token (key %d): CMW content format %d, want %d (a signed EAT)", name, key, cmw.CType, cmwContentType)
			}
			b = cmw.Value
		}
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("%s token (key %d) is not a byte string", name, key)
		}
		return b, nil
	}
	if tag.Number != TagCollection && tag.Number != TagCMWCollection {
		return nil, nil, fmt.Errorf("CBOR tag %d, want %d (CCA token) or %d (CMW collection)", tag.Number, TagCollection, TagCMWCollection)
	}
	if platform, err = get(KeyPlatform, "platform"); err != nil {
		return nil, nil, err
	}
	if realm, err = get(KeyRealm, "realm"); err != nil {
		return nil, nil, err
	}
	return platform, realm, nil
}

var errNoClaims = errors.New("no claims")
