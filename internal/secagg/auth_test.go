package secagg

import (
	"crypto/ecdsa"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func signBody(t *testing.T, k *ecdsa.PrivateKey, b *confedv1.SecAggBody) []byte {
	t.Helper()
	out, err := encodeSigned(k, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resign decodes a signed message, lets edit change its body, and
// re-encodes it with the original signature (a tampering server).
func resign(t *testing.T, msg []byte, edit func(*confedv1.SecAggBody)) []byte {
	t.Helper()
	m, body, err := DecodeSigned(msg)
	if err != nil {
		t.Fatal(err)
	}
	edit(body)
	raw, _ := marshal.Marshal(body)
	out, _ := marshal.Marshal(&confedv1.SecAggSigned{Body: raw, Signature: m.GetSignature()})
	return out
}

func TestServerRefuses(t *testing.T) {
	s := newSession(t, 4, 0, 3, 5)
	other := newSession(t, 4, 0, 3, 5) // same shape, other keys: another session
	srv, err := NewServer(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	clients := make([]*Client, 4)
	adverts := make([][]byte, 4)
	for i := range clients {
		clients[i], _ = NewClient(s.cfg, i, s.signers[i])
		adverts[i], _ = clients[i].Advertise()
	}
	foreign, _ := NewClient(other.cfg, 0, other.signers[0])
	foreignAd, _ := foreign.Advertise()
	shareBody := &confedv1.SecAggBody{Session: s.cfg.Session[:], Stage: StageShareKeys, Sender: 0,
		Payload: &confedv1.SecAggBody_ShareKeys{ShareKeys: &confedv1.SecAggShareKeys{SelfMaskCommitment: make([]byte, 32)}}}
	spoof := resign(t, adverts[1], func(b *confedv1.SecAggBody) { b.Sender = 2 })
	badKey := resign(t, adverts[1], func(b *confedv1.SecAggBody) { b.GetAdvertise().MaskPublicKey[0] ^= 1 })
	badSig, _, _ := DecodeSigned(adverts[1])
	badSig.Signature[5] ^= 1
	badSigMsg, _ := proto.Marshal(badSig)
	unknown := signBody(t, s.signers[0], &confedv1.SecAggBody{Session: s.cfg.Session[:], Stage: StageAdvertise, Sender: 9,
		Payload: &confedv1.SecAggBody_Advertise{Advertise: &confedv1.SecAggAdvertise{CipherPublicKey: make([]byte, 32), MaskPublicKey: make([]byte, 32)}}})

	steps := []struct {
		name string
		msg  []byte
		want string // "" accepted
	}{
		{"garbage", []byte("not a message"), ReasonMalformed},
		{"advert 0", adverts[0], ""},
		{"replayed advert 0", adverts[0], ReasonReplay},
		{"other session", foreignAd, ReasonWrongSession},
		{"sender spoofed", spoof, ReasonBadSignature},
		{"key swapped by a forger", badKey, ReasonBadSignature},
		{"signature flipped", badSigMsg, ReasonBadSignature},
		{"unknown sender", unknown, ReasonUnknownSender},
		{"next stage's message", signBody(t, s.signers[0], shareBody), ReasonOutOfStage},
		{"advert 1", adverts[1], ""},
		{"advert 2", adverts[2], ""},
	}
	for _, st := range steps {
		err := srv.Receive(st.msg)
		if got := ReasonOf(err); got != st.want || (st.want == "" && err != nil) {
			t.Errorf("%s: error %v, want reason %q", st.name, err, st.want)
		}
	}
	out, err := srv.Advance()
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[3] != nil {
		t.Fatalf("share-keys messages to %d participants, want 3 (participant 3 never advertised)", len(out))
	}
	// Participant 3 dropped; an advertisement now is out of stage; a
	// share-keys message from 3 is not expected.
	if err := srv.Receive(adverts[3]); ReasonOf(err) != ReasonOutOfStage {
		t.Errorf("late advert: %v, want %s", err, ReasonOutOfStage)
	}
	late := proto.Clone(shareBody).(*confedv1.SecAggBody)
	late.Sender = 3
	if err := srv.Receive(signBody(t, s.signers[3], late)); ReasonOf(err) != ReasonNotExpected {
		t.Errorf("share keys from a dropout: %v, want %s", err, ReasonNotExpected)
	}
	// Shares addressed to a participant that never advertised are refused.
	sk0, err := clients[0].ShareKeys(out[0])
	if err != nil {
		t.Fatal(err)
	}
	forged := proto.Clone(shareBody).(*confedv1.SecAggBody)
	forged.GetShareKeys().Shares = []*confedv1.SecAggEncryptedShare{{From: 0, To: 3, Nonce: make([]byte, 12), Ciphertext: []byte{1}}}
	if err := srv.Receive(signBody(t, s.signers[0], forged)); ReasonOf(err) != ReasonBadShare {
		t.Errorf("share to a non-advertised participant: %v, want %s", err, ReasonBadShare)
	}
	if err := srv.Receive(sk0); err != nil {
		t.Errorf("honest share keys refused: %v", err)
	}
}

// TestServerRefusesLaterStages drives an honest session and throws bad
// messages at the server at each later stage.
func TestServerRefusesLaterStages(t *testing.T) {
	s := newSession(t, 4, 0, 3, 6)
	sm := newSim(t, s, 5)
	sm.lenient = true
	var consistency1 []byte
	sm.tamper = func(st Stage, to uint32, msg []byte) []byte {
		switch {
		case st == StageMaskedInput && to == 0:
			// A masked input of the wrong length, signed by 0.
			bad := signBody(t, s.signers[0], &confedv1.SecAggBody{Session: s.cfg.Session[:], Stage: StageMaskedInput, Sender: 0,
				Payload: &confedv1.SecAggBody_MaskedInput{MaskedInput: &confedv1.SecAggMaskedInput{Masked: make([]byte, 8)}}})
			if err := sm.server.Receive(bad); ReasonOf(err) != ReasonMalformed {
				t.Errorf("short masked input: %v, want %s", err, ReasonMalformed)
			}
		case st == StageConsistency && to == 1:
			other := signBody(t, s.signers[1], &confedv1.SecAggBody{Session: s.cfg.Session[:], Stage: StageConsistency, Sender: 1,
				Payload: &confedv1.SecAggBody_Consistency{Consistency: &confedv1.SecAggConsistency{Survivors: []uint32{0, 1, 2}}}})
			if err := sm.server.Receive(other); ReasonOf(err) != ReasonInconsistent {
				t.Errorf("other survivors signed: %v, want %s", err, ReasonInconsistent)
			}
		case st == StageUnmask && to == 2:
			consistency1 = sm.sent[StageConsistency][1]
			if err := sm.server.Receive(consistency1); ReasonOf(err) != ReasonOutOfStage {
				t.Errorf("replayed consistency during unmask: %v, want %s", err, ReasonOutOfStage)
			}
			// Both shares of participant 0: refused.
			both := signBody(t, s.signers[2], &confedv1.SecAggBody{Session: s.cfg.Session[:], Stage: StageUnmask, Sender: 2,
				Payload: &confedv1.SecAggBody_Unmask{Unmask: &confedv1.SecAggUnmask{Shares: []*confedv1.SecAggRevealedShare{
					{Owner: 0, Kind: confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_SELF_MASK, Share: make([]byte, shareLen)},
					{Owner: 0, Kind: confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_MASK_KEY, Share: make([]byte, shareLen)},
				}}}})
			if err := sm.server.Receive(both); ReasonOf(err) != ReasonInconsistent {
				t.Errorf("both shares of one participant: %v, want %s", err, ReasonInconsistent)
			}
		}
		return msg
	}
	res, err := sm.run(t, nil)
	if err != nil || len(sm.serverErrs) > 0 {
		t.Fatalf("honest session failed after the refusals: %v %v", err, sm.serverErrs)
	}
	sum, _ := sm.plainSum(t, res.Survivors)
	if !slices.Equal(sum, res.Sum) {
		t.Error("wrong sum")
	}
	if err := sm.server.Receive(consistency1); ReasonOf(err) != ReasonOutOfStage {
		t.Errorf("message after the end: %v, want %s", err, ReasonOutOfStage)
	}
}

func TestClientRefuses(t *testing.T) {
	s := newSession(t, 4, 0, 3, 5)
	type fixture struct {
		sm  *sim
		out map[uint32][]byte // the server's share-keys messages
	}
	setup := func(t *testing.T) fixture {
		sm := newSim(t, s, 9)
		for i, c := range sm.clients {
			a, _ := c.Advertise()
			if err := sm.server.Receive(a); err != nil {
				t.Fatalf("advert %d: %v", i, err)
			}
		}
		out, err := sm.server.Advance()
		if err != nil {
			t.Fatal(err)
		}
		return fixture{sm, out}
	}
	edit := func(msg []byte, f func(*confedv1.SecAggServerMessage)) []byte {
		m, err := DecodeServerMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := marshal.Marshal(m)
		return b
	}
	tests := []struct {
		name string
		run  func(fixture) error
		want string
	}{
		{"wrong session", func(f fixture) error {
			return second(f.sm.clients[0].ShareKeys(edit(f.out[0], func(m *confedv1.SecAggServerMessage) { m.Session[0] ^= 1 })))
		}, ReasonWrongSession},
		{"wrong recipient", func(f fixture) error {
			return second(f.sm.clients[0].ShareKeys(f.out[1]))
		}, ReasonInconsistent},
		{"stage skipped", func(f fixture) error {
			return second(f.sm.clients[0].Consistency(f.out[0]))
		}, ReasonOutOfStage},
		{"server message of another stage", func(f fixture) error {
			return second(f.sm.clients[0].ShareKeys(edit(f.out[0], func(m *confedv1.SecAggServerMessage) { m.Stage = StageUnmask })))
		}, ReasonOutOfStage},
		{"injected mask key", func(f fixture) error {
			return second(f.sm.clients[0].ShareKeys(edit(f.out[0], func(m *confedv1.SecAggServerMessage) {
				a := m.Advertisements[0]
				var b confedv1.SecAggBody
				_ = proto.Unmarshal(a.Body, &b)
				b.GetAdvertise().MaskPublicKey[3] ^= 1
				a.Body, _ = marshal.Marshal(&b)
			})))
		}, ReasonBadSignature},
		{"advert replayed twice", func(f fixture) error {
			return second(f.sm.clients[0].ShareKeys(edit(f.out[0], func(m *confedv1.SecAggServerMessage) {
				m.Advertisements = append(m.Advertisements, m.Advertisements[0])
			})))
		}, ReasonReplay},
		{"too few neighbours", func(f fixture) error {
			return second(f.sm.clients[0].ShareKeys(edit(f.out[0], func(m *confedv1.SecAggServerMessage) {
				m.Advertisements = m.Advertisements[:1]
			})))
		}, ReasonTooFew},
		{"tampered share", func(f fixture) error {
			for i, c := range f.sm.clients {
				sk, err := c.ShareKeys(f.out[uint32(i)])
				if err != nil {
					return err
				}
				if err := f.sm.server.Receive(sk); err != nil {
					return err
				}
			}
			out, err := f.sm.server.Advance()
			if err != nil {
				return err
			}
			return second(f.sm.clients[0].MaskedInput(edit(out[0], func(m *confedv1.SecAggServerMessage) {
				m.Shares[1].Ciphertext[0] ^= 1
			}), f.sm.updates[0], f.sm.weights[0], nil))
		}, ReasonBadShare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			err := tt.run(f)
			if ReasonOf(err) != tt.want {
				t.Fatalf("error %v, want reason %s", err, tt.want)
			}
			// A client that refused reveals nothing more.
			if _, err := f.sm.clients[0].Unmask(nil); ReasonOf(err) != ReasonFailed && ReasonOf(err) != ReasonOutOfStage {
				t.Errorf("client after refusal: %v", err)
			}
		})
	}
}

func second(_ []byte, err error) error { return err }

// TestTwoViewsRefused: a server that tells one participant that
// participant 3 dropped and the others that it survived cannot get both
// kinds of share: the victim's signature does not match, and a client
// shown signatures of other survivors reveals nothing.
func TestTwoViewsRefused(t *testing.T) {
	s := newSession(t, 5, 0, 3, 4)
	sm := newSim(t, s, 4)
	sm.lenient = true
	var lied []byte
	sm.tamper = func(st Stage, to uint32, msg []byte) []byte {
		if st != StageConsistency || to != 0 {
			return msg
		}
		m, _ := DecodeServerMessage(msg)
		m.Survivors = slices.DeleteFunc(m.Survivors, func(v uint32) bool { return v == 3 })
		lied, _ = marshal.Marshal(m)
		return lied
	}
	// Everyone stops before unmasking; the test plays it by hand.
	dropAt := map[uint32]Stage{0: StageUnmask, 1: StageUnmask, 2: StageUnmask, 3: StageUnmask, 4: StageUnmask}
	if _, err := sm.run(t, dropAt); ReasonOf(err) != ReasonTooFew {
		t.Fatalf("session: %v", err)
	}
	if ReasonOf(sm.serverErrs[0]) != ReasonInconsistent {
		t.Fatalf("server accepted a signature of other survivors: %v", sm.serverErrs[0])
	}
	// Participant 1 is shown 0's signature of the lie along with honest ones.
	var sigs []*confedv1.SecAggSigned
	for _, b := range sm.sent[StageConsistency] {
		var m confedv1.SecAggSigned
		_ = proto.Unmarshal(b, &m)
		sigs = append(sigs, &m)
	}
	msg, _ := marshal.Marshal(&confedv1.SecAggServerMessage{Session: s.cfg.Session[:], Stage: StageUnmask, Recipient: 1, Signatures: sigs})
	if _, err := sm.clients[1].Unmask(msg); ReasonOf(err) != ReasonInconsistent {
		t.Fatalf("client 1 unmasked despite a conflicting signature: %v", err)
	}
	if len(sm.clients[1].Revealed()) != 0 {
		t.Error("client 1 revealed shares")
	}
}
