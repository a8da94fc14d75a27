package secagg

import (
	"testing"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// seeds are real messages of one honest session, by stage.
func seeds(f *testing.F) (client map[Stage][][]byte, server [][]byte, s *session) {
	s = newSession(f, 3, 0, 2, 4)
	sm := newSim(f, s, 1)
	var srv [][]byte
	sm.tamper = func(_ Stage, _ uint32, msg []byte) []byte { srv = append(srv, msg); return msg }
	if _, err := sm.run(f, nil); err != nil {
		f.Fatal(err)
	}
	return sm.sent, srv, s
}

func FuzzDecodeSigned(f *testing.F) {
	client, _, _ := seeds(f)
	for _, ms := range client {
		for _, m := range ms {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, body, err := DecodeSigned(b)
		if err == nil && (m == nil || body == nil || len(body.GetSession()) != 32) {
			t.Fatal("accepted without a body or session")
		}
	})
}

func FuzzDecodeServerMessage(f *testing.F) {
	_, server, _ := seeds(f)
	for _, m := range server {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeServerMessage(b)
		if err == nil && (len(m.GetSession()) != 32 || !sortedUnique(m.GetSurvivors())) {
			t.Fatal("accepted a bad server message")
		}
	})
}

func FuzzDecodeSharePlaintext(f *testing.F) {
	pt, _ := marshal.Marshal(&confedv1SharePlaintextSeed)
	f.Add(pt)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeSharePlaintext(b)
		if err == nil && (len(m.GetMaskKeyShare()) != shareLen || len(m.GetSelfMaskShare()) != shareLen) {
			t.Fatal("accepted bad share lengths")
		}
	})
}

// FuzzServerReceive throws bytes at a server in its first stage: it must
// refuse them without panicking (a valid signature cannot be forged).
func FuzzServerReceive(f *testing.F) {
	client, _, s := seeds(f)
	for _, ms := range client {
		for _, m := range ms {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		srv, err := NewServer(s.cfg)
		if err != nil {
			t.Fatal(err)
		}
		_ = srv.Receive(b)
	})
}

// FuzzClientShareKeys throws bytes at a client expecting the share-keys
// message: it must not panic.
func FuzzClientShareKeys(f *testing.F) {
	_, server, s := seeds(f)
	for _, m := range server {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := NewClient(s.cfg, 0, s.signers[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Advertise(); err != nil {
			t.Fatal(err)
		}
		_, _ = c.ShareKeys(b) // seeds are genuine and accepted; mutations must not panic
	})
}

var confedv1SharePlaintextSeed = confedv1.SecAggSharePlaintext{From: 1, To: 2, MaskKeyShare: make([]byte, shareLen), SelfMaskShare: make([]byte, shareLen)}
