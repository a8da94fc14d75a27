package secagg

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/confed/confed/internal/fixedpoint"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// session is a roster of real ECDSA P-256 identities and a Config.
type session struct {
	cfg     Config
	signers []*ecdsa.PrivateKey
}

func newSession(t testing.TB, n, degree, threshold, length int) *session {
	t.Helper()
	s := &session{}
	for i := range n {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s.signers = append(s.signers, k)
		s.cfg.Peers = append(s.cfg.Peers, Peer{Name: fmt.Sprintf("site-%d", i), Key: &k.PublicKey})
	}
	s.cfg.Threshold, s.cfg.Degree, s.cfg.Length = threshold, degree, length
	s.cfg.Params = fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 12, MaxWeight: 100, MaxParticipants: n}
	id, err := SessionID("test-fed", 7, []byte("round seed"), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Session = id
	if err := s.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// sim runs a session in memory: the server and the clients exchange encoded
// messages; dropAt[i] is the stage at which participant i stops sending.
type sim struct {
	*session
	clients []*Client
	server  *Server
	updates [][]float32
	weights []uint64
	// sent records every message the clients sent, by stage.
	sent map[Stage][][]byte
	// clientErrs records the clients' refusals.
	clientErrs map[uint32]error
	// tamper, if set, may rewrite the server's messages before delivery.
	tamper func(stage Stage, to uint32, msg []byte) []byte
	// lenient records the server's refusals in serverErrs instead of
	// failing the test.
	lenient    bool
	serverErrs map[uint32]error
	// stream sends odd participants' masked inputs apart from their header.
	stream bool
}

func (sm *sim) streamInput(t testing.TB, i uint32, msg []byte) {
	t.Helper()
	h, vec, err := sm.clients[i].MaskedInputStream(msg, sm.updates[i], sm.weights[i], quantRNG(int(i)))
	if err != nil {
		sm.clientErrs[i] = err
		return
	}
	sm.sent[StageMaskedInput] = append(sm.sent[StageMaskedInput], h)
	if err := sm.server.ReceiveStream(h, bytes.NewReader(vec), nil); err != nil {
		t.Fatalf("server refused participant %d's streamed input: %v", i, err)
	}
}

func newSim(t testing.TB, s *session, seed uint64) *sim {
	t.Helper()
	r := mrand.New(mrand.NewPCG(seed, 1))
	sm := &sim{session: s, sent: map[Stage][][]byte{}, clientErrs: map[uint32]error{}, serverErrs: map[uint32]error{}}
	var err error
	if sm.server, err = NewServer(s.cfg); err != nil {
		t.Fatal(err)
	}
	for i := range s.cfg.Peers {
		c, err := NewClient(s.cfg, i, s.signers[i])
		if err != nil {
			t.Fatal(err)
		}
		sm.clients = append(sm.clients, c)
		u := make([]float32, s.cfg.Length)
		for k := range u {
			u[k] = float32(r.NormFloat64() * 0.5) // some beyond the clip of 1
		}
		sm.updates = append(sm.updates, u)
		sm.weights = append(sm.weights, 1+r.Uint64N(s.cfg.Params.MaxWeight))
	}
	return sm
}

func quantRNG(i int) mrand.Source { return mrand.NewChaCha8([32]byte{byte(i), 42}) }

// step runs participant i's side of stage st on the server's message.
func (sm *sim) step(st Stage, i uint32, msg []byte) ([]byte, error) {
	c := sm.clients[i]
	switch st {
	case StageAdvertise:
		return c.Advertise()
	case StageShareKeys:
		return c.ShareKeys(msg)
	case StageMaskedInput:
		return c.MaskedInput(msg, sm.updates[i], sm.weights[i], quantRNG(int(i)))
	case StageConsistency:
		return c.Consistency(msg)
	default:
		return c.Unmask(msg)
	}
}

// run plays the whole session; dropAt maps a participant to the stage at
// which it goes silent. It returns the server's result or error.
func (sm *sim) run(t testing.TB, dropAt map[uint32]Stage) (*Result, error) {
	t.Helper()
	inbox := map[uint32][]byte{}
	for i := range sm.clients {
		inbox[uint32(i)] = nil
	}
	for st := StageAdvertise; st <= StageUnmask; st++ {
		for i := range uint32(len(sm.clients)) {
			msg, ok := inbox[i]
			if !ok {
				continue
			}
			if d, dropped := dropAt[i]; dropped && d <= st {
				continue
			}
			if sm.tamper != nil && msg != nil {
				msg = sm.tamper(st, i, msg)
			}
			if st == StageMaskedInput && sm.stream && i%2 == 1 {
				sm.streamInput(t, i, msg)
				continue
			}
			out, err := sm.step(st, i, msg)
			if err != nil {
				sm.clientErrs[i] = err
				continue
			}
			sm.sent[st] = append(sm.sent[st], out)
			if err := sm.server.Receive(out); err != nil && sm.lenient {
				sm.serverErrs[i] = err
			} else if err != nil {
				t.Fatalf("stage %s: server refused participant %d's message: %v", st, i, err)
			}
		}
		var err error
		if inbox, err = sm.server.Advance(); err != nil {
			return nil, err
		}
	}
	return sm.server.Result()
}

// plainSum is the fixed-point sum of the given participants' updates,
// quantised with the same rounding draws as in the session.
func (sm *sim) plainSum(t testing.TB, ids []uint32) ([]uint32, uint64) {
	t.Helper()
	sum, err := fixedpoint.NewSum32(sm.cfg.Length, sm.cfg.Params)
	if err != nil {
		t.Fatal(err)
	}
	q := make([]uint32, sm.cfg.Length)
	for _, i := range ids {
		if err := fixedpoint.Quantise32(q, sm.updates[i], sm.weights[i], sm.cfg.Params, quantRNG(int(i))); err != nil {
			t.Fatal(err)
		}
		if err := sum.Add(q, sm.weights[i]); err != nil {
			t.Fatal(err)
		}
	}
	return sum.Raw(), sum.TotalWeight()
}

// reveals decodes every unmask message the server received: owner → kinds.
func (sm *sim) reveals(t testing.TB) map[uint32]map[confedv1.SecAggShareKind]int {
	t.Helper()
	out := map[uint32]map[confedv1.SecAggShareKind]int{}
	for _, b := range sm.sent[StageUnmask] {
		_, body, err := DecodeSigned(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range body.GetUnmask().GetShares() {
			if out[r.GetOwner()] == nil {
				out[r.GetOwner()] = map[confedv1.SecAggShareKind]int{}
			}
			out[r.GetOwner()][r.GetKind()]++
		}
	}
	return out
}
