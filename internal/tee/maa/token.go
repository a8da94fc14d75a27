package maa

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxTokenSize bounds a token (MAA tokens are a few KiB; CVM tokens with
// embedded keys up to ~16 KiB).
const MaxTokenSize = 64 << 10

// Header is a token's JOSE header.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Jku string `json:"jku"`
	Typ string `json:"typ"`
}

// Token is a parsed, unverified JWT.
type Token struct {
	Header    Header
	Claims    map[string]any
	signed    []byte // header.payload, as received
	signature []byte
}

// ParseToken splits and decodes a compact JWT without verifying it.
func ParseToken(raw []byte) (*Token, error) {
	if len(raw) > MaxTokenSize {
		return nil, fmt.Errorf("maa: malformed token: %d bytes, more than the %d-byte limit", len(raw), MaxTokenSize)
	}
	s := strings.TrimSpace(string(raw))
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("maa: malformed token: %d dot-separated parts, want 3 (a compact JWS)", len(parts))
	}
	t := &Token{signed: []byte(parts[0] + "." + parts[1])}
	hb, err := b64(parts[0])
	if err != nil {
		return nil, fmt.Errorf("maa: malformed token header: %v", err)
	}
	if err := strictJSON(hb, &t.Header); err != nil {
		return nil, fmt.Errorf("maa: malformed token header: %v", err)
	}
	pb, err := b64(parts[1])
	if err != nil {
		return nil, fmt.Errorf("maa: malformed token claims: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(pb))
	dec.UseNumber()
	if err := dec.Decode(&t.Claims); err != nil || dec.More() || t.Claims == nil {
		return nil, fmt.Errorf("maa: malformed token claims: not one JSON object")
	}
	if t.signature, err = b64(parts[2]); err != nil {
		return nil, fmt.Errorf("maa: malformed token signature: %v", err)
	}
	return t, nil
}

// b64 decodes unpadded base64url, as JWS requires.
func b64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "=+/") {
		return nil, errors.New("not unpadded base64url")
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}
