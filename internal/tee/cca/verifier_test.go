package cca

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/cca/ccatest"
)

type sample struct {
	name, token, key string
	rim              string
	challenge        [64]byte
}

func samples() []sample {
	var legacy, rmm [64]byte
	copy(legacy[:], bytes.Repeat([]byte("AB"), 32))
	copy(rmm[:], bytes.Repeat([]byte{0xab}, 64))
	return []sample{
		{"veraison tag 399", "testdata/cca_legacy_token.hex", "testdata/cca_legacy_iak.pem", strings.Repeat("43", 64), legacy},
		{"tf-rmm tag 907", "testdata/cca_rmm_token.hex", "testdata/cca_rmm_cpak.pem", strings.Repeat("00", 32), rmm},
	}
}

func readHex(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestRealTokensVerify(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			v, err := NewVerifier(Policy{PlatformKeys: []string{s.key}, InitialMeasurements: []string{s.rim}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ev := tee.Evidence{Kind: tee.KindCCA, Raw: readHex(t, s.token)}
			c, err := v.Verify(context.Background(), ev, s.challenge)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(c.Measurement) != s.rim || !strings.Contains(c.TCB, "secured") {
				t.Fatalf("claims %+v", c)
			}
			if _, err := v.Verify(context.Background(), ev, tee.ReportData("other")); err == nil || !strings.Contains(err.Error(), "not bound") {
				t.Fatalf("other report data: err = %v", err)
			}
		})
	}
}

func TestRealTokensRefusedUnderOtherKey(t *testing.T) {
	s := samples()
	other, err := LoadKey(s[1].key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyToken(readHex(t, s[0].token), []*ecdsa.PublicKey{other}); err == nil || !strings.Contains(err.Error(), "not signed by any trusted platform key") {
		t.Fatalf("err = %v", err)
	}
}

// A one-byte change in either real token makes it fail (parse, either
// signature, the RAK binding or the collection framing): every byte of the
// first 64 (framing and headers), then every 13th.
func TestRealTokensTamperFails(t *testing.T) {
	for _, s := range samples() {
		k, err := LoadKey(s.key)
		if err != nil {
			t.Fatal(err)
		}
		raw := readHex(t, s.token)
		for i := 0; i < len(raw); i++ {
			if i >= 64 && i%13 != 0 {
				continue
			}
			b := append([]byte(nil), raw...)
			b[i] ^= 0x01
			if _, err := VerifyToken(b, []*ecdsa.PublicKey{k}); err == nil {
				t.Fatalf("%s: byte %d flipped: still verifies", s.name, i)
			}
		}
	}
}

func TestGeneratedTokens(t *testing.T) {
	plat, err := ccatest.NewPlatform()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "cpak.pem")
	os.WriteFile(keyFile, plat.KeyPEM(), 0o600)
	rd := tee.ReportData("test", []byte("conn"))
	rim := bytes.Repeat([]byte{7}, 48)
	pers := bytes.Repeat([]byte{9}, 64)
	pol := Policy{PlatformKeys: []string{keyFile}, InitialMeasurements: []string{hex.EncodeToString(rim)}}
	cases := []struct {
		name    string
		pol     func(*Policy)
		realm   ccatest.Realm
		wantErr string
	}{
		{"ok", nil, ccatest.Realm{Challenge: rd[:], RIM: rim}, ""},
		{"other connection", nil, ccatest.Realm{Challenge: make([]byte, 64), RIM: rim}, "not bound"},
		{"rim", nil, ccatest.Realm{Challenge: rd[:], RIM: bytes.Repeat([]byte{8}, 48)}, "initial measurement"},
		{"personalisation allowed", func(p *Policy) { p.PersonalizationValues = []string{hex.EncodeToString(pers)} }, ccatest.Realm{Challenge: rd[:], RIM: rim, Personalization: pers}, ""},
		{"personalisation refused", func(p *Policy) { p.PersonalizationValues = []string{hex.EncodeToString(pers)} }, ccatest.Realm{Challenge: rd[:], RIM: rim}, "personalisation"},
		{"debug lifecycle", nil, ccatest.Realm{Challenge: rd[:], RIM: rim, Lifecycle: 0x4000}, "non-cca-platform-rot-debug"},
		{"recoverable debug", nil, ccatest.Realm{Challenge: rd[:], RIM: rim, Lifecycle: 0x5001}, "not secured"},
		{"provisioning", nil, ccatest.Realm{Challenge: rd[:], RIM: rim, Lifecycle: 0x2000}, "not secured"},
		{"rak not bound", nil, ccatest.Realm{Challenge: rd[:], RIM: rim, BadBinding: true}, "does not belong"},
		{"implementation id", func(p *Policy) { p.ImplementationIDs = []string{strings.Repeat("11", 32)} }, ccatest.Realm{Challenge: rd[:], RIM: rim}, "implementation ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := pol
			if c.pol != nil {
				c.pol(&q)
			}
			v, err := NewVerifier(q, Options{})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := plat.Token(c.realm)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), tee.Evidence{Kind: tee.KindCCA, Raw: tok}, rd)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	key := samples()[0].key
	cases := []struct {
		p       Policy
		wantErr string
	}{
		{Policy{PlatformKeys: []string{key}, InitialMeasurements: []string{strings.Repeat("00", 32)}}, ""},
		{Policy{InitialMeasurements: []string{strings.Repeat("00", 32)}}, "platform_keys: at least one"},
		{Policy{PlatformKeys: []string{"testdata/missing.pem"}, InitialMeasurements: []string{strings.Repeat("00", 32)}}, "platform_keys[0]"},
		{Policy{PlatformKeys: []string{"testdata/README.md"}, InitialMeasurements: []string{strings.Repeat("00", 32)}}, "no PEM block"},
		{Policy{PlatformKeys: []string{key}}, "initial_measurements: at least one"},
		{Policy{PlatformKeys: []string{key}, InitialMeasurements: []string{"00"}}, "initial_measurements[0]"},
		{Policy{PlatformKeys: []string{key}, InitialMeasurements: []string{strings.Repeat("00", 32)}, PersonalizationValues: []string{"00"}}, "personalization_values[0]"},
	}
	for i, c := range cases {
		err := c.p.Validate()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("case %d: err = %v, want %q", i, err, c.wantErr)
		}
	}
}
