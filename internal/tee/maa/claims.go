package maa

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// claimSet reads typed claims out of a token's claims object.
type claimSet map[string]any

func (c claimSet) str(name string) (string, bool) {
	s, ok := c[name].(string)
	return s, ok
}

func (c claimSet) mustStr(name string) (string, error) {
	s, ok := c.str(name)
	if !ok {
		return "", fmt.Errorf("claim %s is missing or not a string", name)
	}
	return s, nil
}

func (c claimSet) uint(name string) (uint64, error) {
	n, ok := c[name].(json.Number)
	if !ok {
		return 0, fmt.Errorf("claim %s is missing or not a number", name)
	}
	v, err := strconv.ParseUint(n.String(), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("claim %s: %q is not a non-negative integer", name, n)
	}
	return v, nil
}

func (c claimSet) boolean(name string) (bool, error) {
	b, ok := c[name].(bool)
	if !ok {
		return false, fmt.Errorf("claim %s is missing or not a boolean", name)
	}
	return b, nil
}

func (c claimSet) hexBytes(name string, n int) ([]byte, error) {
	s, err := c.mustStr(name)
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(s)
	if err != nil || (n > 0 && len(b) != n) {
		return nil, fmt.Errorf("claim %s: want %d bytes in hex, got %q", name, n, s)
	}
	return b, nil
}

func (c claimSet) time(name string) (time.Time, error) {
	v, err := c.uint(name)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(v), 0).UTC(), nil
}

// teeClaims returns the claims that describe the TEE: the token itself,
// or, for an Azure CVM token (x-ms-attestation-type azurevm), its
// x-ms-isolation-tee object.
func teeClaims(all claimSet) (claimSet, string, error) {
	typ, err := all.mustStr("x-ms-attestation-type")
	if err != nil {
		return nil, "", err
	}
	if typ != "azurevm" {
		return all, typ, nil
	}
	iso, ok := all["x-ms-isolation-tee"].(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("azurevm token without an x-ms-isolation-tee object")
	}
	inner := claimSet(iso)
	t, err := inner.mustStr("x-ms-attestation-type")
	if err != nil {
		return nil, "", fmt.Errorf("x-ms-isolation-tee: %w", err)
	}
	return inner, t, nil
}

// runtimeData decodes SGX enclave-held data (x-ms-sgx-ehd, base64url).
func runtimeData(c claimSet) ([]byte, error) {
	s, err := c.mustStr("x-ms-sgx-ehd")
	if err != nil {
		return nil, err
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("claim x-ms-sgx-ehd is not base64url: %v", err)
	}
	return b, nil
}

// checkEHDConsistent checks MAA's convention that an SGX quote's report
// data starts with SHA-256 of the enclave-held data.
func checkEHDConsistent(c claimSet) error {
	ehd, err := runtimeData(c)
	if err != nil {
		return err
	}
	rd, err := c.hexBytes("x-ms-sgx-report-data", 64)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(ehd)
	if !bytes.Equal(rd[:32], sum[:]) {
		return fmt.Errorf("x-ms-sgx-report-data does not start with SHA-256 of x-ms-sgx-ehd")
	}
	return nil
}
