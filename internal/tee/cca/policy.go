package cca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/confed/confed/internal/tee"
)

// Policy says which CCA realms a Verifier accepts. A platform whose
// lifecycle state is not "secured" is never accepted, and the realm
// challenge must always equal the 64 bytes of report data.
type Policy struct {
	// PlatformKeys are PEM files, each holding the public key (a PUBLIC
	// KEY block, or a CERTIFICATE) of a platform attestation key (CPAK /
	// IAK) that is trusted to sign platform tokens: the endorsement of the
	// platforms you accept. At least one is required.
	PlatformKeys []string `yaml:"platform_keys"`
	// ImplementationIDs, if set, is an allow-list of platform
	// implementation IDs (64 hex characters).
	ImplementationIDs []string `yaml:"implementation_ids"`
	// InitialMeasurements is the allow-list of realm initial measurements
	// (RIM; 64, 96 or 128 hex characters). At least one is required.
	InitialMeasurements []string `yaml:"initial_measurements"`
	// PersonalizationValues, if set, is an allow-list of realm
	// personalisation values (128 hex characters).
	PersonalizationValues []string `yaml:"personalization_values"`
}

// Validate checks the policy (and reads its key files); each problem names
// its key.
func (p Policy) Validate() error {
	_, err := p.compile()
	return err
}

type compiled struct {
	keys                  []*ecdsa.PublicKey
	impl, rims, personals [][]byte
}

func (p Policy) compile() (compiled, error) {
	var errs []error
	bad := func(key, f string, a ...any) {
		errs = append(errs, fmt.Errorf("arm-cca policy: %s: %s", key, fmt.Sprintf(f, a...)))
	}
	var c compiled
	if len(p.PlatformKeys) == 0 {
		bad("platform_keys", "at least one trusted platform key (a PEM file) is required")
	}
	for i, f := range p.PlatformKeys {
		k, err := LoadKey(f)
		if err != nil {
			bad(fmt.Sprintf("platform_keys[%d]", i), "%v", err)
			continue
		}
		c.keys = append(c.keys, k)
	}
	if len(p.InitialMeasurements) == 0 {
		bad("initial_measurements", "at least one allowed realm initial measurement is required")
	}
	c.rims = hexList(p.InitialMeasurements, "initial_measurements", measLen, bad)
	c.impl = hexList(p.ImplementationIDs, "implementation_ids", func(n int) bool { return n == 32 }, bad)
	c.personals = hexList(p.PersonalizationValues, "personalization_values", func(n int) bool { return n == 64 }, bad)
	return c, errors.Join(errs...)
}

func hexList(list []string, key string, okLen func(int) bool, bad func(string, string, ...any)) [][]byte {
	var out [][]byte
	for i, s := range list {
		b, err := hex.DecodeString(s)
		if err != nil || !okLen(len(b)) {
			bad(fmt.Sprintf("%s[%d]", key, i), "%q is not hex of the right length", s)
			continue
		}
		out = append(out, b)
	}
	return out
}

// LoadKey reads an ECDSA public key from a PEM file (PUBLIC KEY or
// CERTIFICATE).
func LoadKey(path string) (*ecdsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseKey(b)
}

// ParseKey reads an ECDSA public key from PEM.
func ParseKey(b []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = c.PublicKey
		}
	default:
		return nil, fmt.Errorf("PEM block %q, want PUBLIC KEY or CERTIFICATE", block.Type)
	}
	if err != nil {
		return nil, err
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%T key, want ECDSA", pub)
	}
	return k, nil
}

// Platform lifecycle states (PSA security lifecycle, as the CCA platform
// token uses it): 0x3000-0x30ff is "secured"; everything else —
// unknown, assembly and test, provisioning, non-PSA-RoT debug,
// recoverable debug, decommissioned — is refused.
const (
	lifecycleSecuredMin = 0x3000
	lifecycleSecuredMax = 0x30ff
)

// LifecycleName names a lifecycle value.
func LifecycleName(v uint64) string {
	switch v & 0xff00 {
	case 0x0000:
		return "unknown"
	case 0x1000:
		return "assembly-and-test"
	case 0x2000:
		return "cca-platform-rot-provisioning"
	case 0x3000:
		return "secured"
	case 0x4000:
		return "non-cca-platform-rot-debug"
	case 0x5000:
		return "recoverable-cca-platform-rot-debug"
	case 0x6000:
		return "decommissioned"
	}
	return "invalid"
}

// check validates a verified token.
func (c compiled) check(t *Token, reportData [64]byte) error {
	if lc := t.Platform.Lifecycle; lc < lifecycleSecuredMin || lc > lifecycleSecuredMax {
		return fmt.Errorf("arm-cca: evidence refused: platform lifecycle 0x%04x (%s) is not secured: debug, provisioning or decommissioned platforms give no protection", lc, LifecycleName(lc))
	}
	if len(c.impl) > 0 && !tee.Listed(c.impl, t.Platform.ImplementationID) {
		return fmt.Errorf("arm-cca: evidence refused: platform implementation ID %x is not in the policy's implementation_ids", t.Platform.ImplementationID)
	}
	if !tee.Listed(c.rims, t.Realm.RIM) {
		return fmt.Errorf("arm-cca: evidence refused: realm initial measurement %x is not in the policy's initial_measurements", t.Realm.RIM)
	}
	if len(c.personals) > 0 && !tee.Listed(c.personals, t.Realm.Personalization) {
		return fmt.Errorf("arm-cca: evidence refused: realm personalisation value %x is not in the policy's personalization_values", t.Realm.Personalization)
	}
	if !bytes.Equal(t.Realm.Challenge, reportData[:]) {
		return errors.New("arm-cca: evidence refused: the realm challenge is not the expected report data: the token is not bound to this connection")
	}
	return nil
}
