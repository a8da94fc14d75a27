package cose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		key, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, tagged := range []bool{false, true} {
			msg, err := Sign(key, []byte("payload"), tagged)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseSign1(msg)
			if err != nil {
				t.Fatalf("%s tagged=%v: %v", c.Params().Name, tagged, err)
			}
			if err := s.Verify(&key.PublicKey); err != nil {
				t.Fatalf("%s tagged=%v: %v", c.Params().Name, tagged, err)
			}
			other, _ := ecdsa.GenerateKey(c, rand.Reader)
			if err := s.Verify(&other.PublicKey); err == nil {
				t.Fatalf("%s: verified with the wrong key", c.Params().Name)
			}
		}
	}
}

func TestVerifyRefusesWrongCurveAndTamper(t *testing.T) {
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	k256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	msg, err := Sign(k384, []byte("payload"), false)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ParseSign1(msg)
	if err := s.Verify(&k256.PublicKey); err == nil || !strings.Contains(err.Error(), "P-384") {
		t.Fatalf("P-256 key for ES384: err = %v", err)
	}
	for i := range msg {
		b := append([]byte(nil), msg...)
		b[i] ^= 0x01
		s, err := ParseSign1(b)
		if err != nil {
			continue
		}
		if s.Verify(&k384.PublicKey) == nil {
			t.Fatalf("byte %d flipped: still verifies", i)
		}
	}
}

func TestParseRefusesOtherTags(t *testing.T) {
	if _, err := ParseSign1([]byte{0xd8, 0x11, 0x80}); err == nil || !strings.Contains(err.Error(), "tag 17") {
		t.Fatalf("tag 17: err = %v", err)
	}
}

func FuzzParseSign1(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	msg, _ := Sign(key, []byte("x"), true)
	f.Add(msg)
	f.Add([]byte{0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSign1(b)
		if err == nil {
			_ = s.Verify(&key.PublicKey)
		}
	})
}
