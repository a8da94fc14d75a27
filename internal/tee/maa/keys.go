package maa

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// MinRSABits is the smallest signing key accepted. (MAA's /certs lists
// 1024-bit keys too; a token signed with one is refused.)
const MinRSABits = 2048

// maxKeySetSize bounds a JWKS document.
const maxKeySetSize = 1 << 20

// jwk is a JSON Web Key as MAA's /certs serves it (x5c) or as RFC 7517
// writes an RSA public key (n, e).
type jwk struct {
	Kty string   `json:"kty"`
	Kid string   `json:"kid"`
	X5c []string `json:"x5c"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	Alg string   `json:"alg"`
	Use string   `json:"use"`
}

// ParseKeySet reads a JWKS document ({"keys": [...]}) into RSA keys by kid.
// A key is taken from its x5c certificate (the first) or from n and e; keys
// of other types are skipped; a malformed RSA key is an error.
func ParseKeySet(b []byte) (map[string]*rsa.PublicKey, error) {
	if len(b) > maxKeySetSize {
		return nil, fmt.Errorf("key set of %d bytes, more than the %d-byte limit", len(b), maxKeySetSize)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("key set: %v", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("key set holds no keys")
	}
	out := map[string]*rsa.PublicKey{}
	for i, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		if k.Kid == "" {
			return nil, fmt.Errorf("keys[%d]: no kid", i)
		}
		pub, err := k.rsa()
		if err != nil {
			return nil, fmt.Errorf("keys[%d] (kid %q): %v", i, k.Kid, err)
		}
		out[k.Kid] = pub
	}
	if len(out) == 0 {
		return nil, errors.New("key set holds no RSA keys")
	}
	return out, nil
}

func (k jwk) rsa() (*rsa.PublicKey, error) {
	if len(k.X5c) > 0 {
		der, err := base64.StdEncoding.DecodeString(k.X5c[0])
		if err != nil {
			return nil, fmt.Errorf("x5c[0]: %v", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("x5c[0]: %v", err)
		}
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("x5c[0] holds a %T key, want RSA", c.PublicKey)
		}
		return pub, nil
	}
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil || len(n) == 0 {
		return nil, errors.New("n is not base64url")
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("e is not a base64url exponent")
	}
	ei := new(big.Int).SetBytes(e)
	if ei.Int64() < 3 || ei.Int64()%2 == 0 {
		return nil, fmt.Errorf("exponent %d is not an odd number of at least 3", ei.Int64())
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ei.Int64())}, nil
}
