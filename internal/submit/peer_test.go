package submit

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/seal"
)

// TestCheckPeer: a leaf dialling its root refuses another aggregator, and
// every dial refuses a binding without a key for its round.
func TestCheckPeer(t *testing.T) {
	key, err := seal.NewRoundKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	round7 := seal.AggregatorBinding{Round: 7, SigningKey: pub, RoundKey: key.PublicKey()}.Marshal()
	root := pki.Identity{Federation: "f", Role: pki.RoleAggregator, Name: "root"}
	leaf := pki.Identity{Federation: "f", Role: pki.RoleAggregator, Name: "leaf-a"}
	for _, tc := range []struct {
		name    string
		d       Dial
		peer    pki.Identity
		binding []byte
		want    string // "" accepted
	}{
		{"root as named", Dial{Round: 7, PeerName: "root"}, root, round7, ""},
		{"another aggregator than the root", Dial{Round: 7, PeerName: "root"}, leaf, round7, `the peer is aggregator "leaf-a", not "root"`},
		{"any aggregator when no name is asked", Dial{Round: 7}, leaf, round7, ""},
		{"no key for this round", Dial{Round: 8}, root, round7, "round 8"},
		{"malformed binding", Dial{Round: 7}, root, []byte("junk"), "binding"},
	} {
		err := tc.d.checkPeer(tc.peer, tc.binding)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
