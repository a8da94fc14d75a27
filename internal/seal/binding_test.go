package seal

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
)

func TestAggregatorBinding(t *testing.T) {
	key, err := NewRoundKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	b := AggregatorBinding{Round: 7, SigningKey: pub, RoundKey: key.PublicKey()}
	got, err := ParseAggregatorBinding(b.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if got.Round != 7 || !bytes.Equal(got.SigningKey, pub) || !bytes.Equal(got.RoundKey, b.RoundKey) {
		t.Fatalf("round trip: %+v", got)
	}
	if k, err := got.KeyFor(7); err != nil || !bytes.Equal(k, b.RoundKey) {
		t.Fatalf("KeyFor(7) = %x, %v", k, err)
	}
	if _, err := got.KeyFor(8); err == nil || !strings.Contains(err.Error(), "not round 8") {
		t.Fatalf("KeyFor(8): %v", err)
	}
	idle, err := ParseAggregatorBinding(AggregatorBinding{SigningKey: pub}.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idle.KeyFor(0); err != ErrNoRoundKey {
		t.Fatalf("idle binding: %v", err)
	}
	enc := b.Marshal()
	for name, p := range map[string][]byte{
		"short":         enc[:20],
		"version":       append([]byte{9}, enc[1:]...),
		"truncated key": enc[:len(enc)-1],
	} {
		if _, err := ParseAggregatorBinding(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseAggregatorBinding(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(nil)
	f.Add(AggregatorBinding{Round: 1, SigningKey: pub}.Marshal())
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := ParseAggregatorBinding(p)
		if err == nil && !bytes.Equal(b.Marshal(), p) {
			t.Fatal("accepted a binding that does not re-encode to itself")
		}
	})
}
