package bench_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"math/bits"
	mrand "math/rand/v2"
	"testing"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/secagg"
)

// BenchmarkSecAgg measures SecAgg+ (internal/secagg) against plain ring
// aggregation, for n simulated participants and updates of d parameters:
//
//	go test -run '^$' -short -bench SecAgg ./bench/
//
// Rows, per n and d:
//
//	participant/secagg   one participant's advertise, share-keys and
//	                     masked-input stages (quantise, self mask, one
//	                     pairwise mask per neighbour); the consistency and
//	                     unmask stages are a few signatures and not timed.
//	                     sent-B is what it sends over all five stages.
//	participant/plain    quantise and encode, what a plain ring
//	                     participant does.
//	server/secagg        every stage of the server with all n inputs, no
//	                     dropout: verify, add, reconstruct the n self-mask
//	                     seeds and remove the self masks.
//	server/secagg-drop10 the same with 10% of the participants dropping
//	                     after sharing keys (their pairwise masks removed).
//	server/plain         n × fixedpoint.Sum32.Add of decoded updates.
//
// The graph is complete for n = 10 and has degree 2⌈log2 n⌉ above; the
// threshold is the smallest safe one. -short runs d = 1M only; the full run
// adds d = 10M, whose set-up (all n participants' masked inputs) takes
// minutes and several GiB.
func BenchmarkSecAgg(b *testing.B) {
	ds := []int{1_000_000, 10_000_000}
	if testing.Short() {
		ds = ds[:1]
	}
	for _, d := range ds {
		for _, n := range []int{10, 50, 100} {
			name := fmt.Sprintf("n=%d/d=%d", n, d)
			var run *secaggRun
			setup := func(b *testing.B) *secaggRun {
				if run == nil {
					run = newSecAggRun(b, n, d)
				}
				return run
			}
			b.Run("participant/secagg/"+name, func(b *testing.B) { setup(b).benchParticipant(b) })
			b.Run("participant/plain/"+name, func(b *testing.B) { setup(b).benchPlainParticipant(b) })
			b.Run("server/secagg/"+name, func(b *testing.B) { setup(b).benchServer(b, setup(b).msgs) })
			b.Run("server/secagg-drop10/"+name, func(b *testing.B) { r := setup(b); r.benchServer(b, r.dropMsgs(b)) })
			b.Run("server/plain/"+name, func(b *testing.B) { setup(b).benchPlainServer(b) })
			run = nil // free the inputs before the next size
		}
	}
}

// secaggRun is one recorded honest session: every participant's messages,
// replayed to a fresh server in each iteration.
type secaggRun struct {
	n, d    int
	cfg     secagg.Config
	signers []*ecdsa.PrivateKey
	update  []float32
	msgs    [5][][]byte // by stage − 1
	sent0   int         // bytes participant 0 sent
}

func degreeFor(n int) int {
	if n <= 10 {
		return 0
	}
	return 2 * bits.Len(uint(n-1)) // 2⌈log2 n⌉
}

func newSecAggRun(b *testing.B, n, d int) *secaggRun {
	b.Helper()
	r := &secaggRun{n: n, d: d}
	for i := range n {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		r.signers = append(r.signers, k)
		r.cfg.Peers = append(r.cfg.Peers, secagg.Peer{Name: fmt.Sprintf("p%d", i), Key: &k.PublicKey})
	}
	r.cfg.Degree = degreeFor(n)
	r.cfg.Threshold = secagg.Holders(n, r.cfg.Degree)/2 + 1
	r.cfg.Length = d
	r.cfg.Params = fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 12, MaxWeight: 100, MaxParticipants: n}
	id, err := secagg.SessionID("bench", 1, []byte("seed"), r.cfg)
	if err != nil {
		b.Fatal(err)
	}
	r.cfg.Session = id
	rng := mrand.New(mrand.NewPCG(1, 2))
	r.update = make([]float32, d)
	for i := range r.update {
		r.update[i] = float32(rng.NormFloat64() * 0.1)
	}
	clients := r.clients(b)
	srv, err := secagg.NewServer(r.cfg)
	if err != nil {
		b.Fatal(err)
	}
	var inbox map[uint32][]byte
	for st := range 5 {
		for i, c := range clients {
			out, err := step(c, st, inbox[uint32(i)], r.update)
			if err != nil {
				b.Fatalf("participant %d, stage %d: %v", i, st+1, err)
			}
			if err := srv.Receive(out); err != nil {
				b.Fatal(err)
			}
			r.msgs[st] = append(r.msgs[st], out)
			if i == 0 {
				r.sent0 += len(out)
			}
		}
		if inbox, err = srv.Advance(); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

func (r *secaggRun) clients(b *testing.B) []*secagg.Client {
	cs := make([]*secagg.Client, r.n)
	for i := range cs {
		c, err := secagg.NewClient(r.cfg, i, r.signers[i])
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
	}
	return cs
}

func step(c *secagg.Client, st int, msg []byte, update []float32) ([]byte, error) {
	switch st {
	case 0:
		return c.Advertise()
	case 1:
		return c.ShareKeys(msg)
	case 2:
		return c.MaskedInput(msg, update, 10, nil)
	case 3:
		return c.Consistency(msg)
	}
	return c.Unmask(msg)
}

// benchParticipant times participant 0's first three stages; the other
// participants' messages (which depend on its fresh keys) are untimed.
func (r *secaggRun) benchParticipant(b *testing.B) {
	b.SetBytes(int64(4 * r.d))
	defer func() { b.ReportMetric(float64(r.sent0), "sent-B") }()
	for b.Loop() {
		b.StopTimer()
		clients := r.clients(b)
		srv, _ := secagg.NewServer(r.cfg)
		var inbox map[uint32][]byte
		for st := range 3 {
			for i, c := range clients {
				if i == 0 {
					b.StartTimer()
				}
				out, err := step(c, st, inbox[uint32(i)], r.update)
				if i == 0 {
					b.StopTimer()
				}
				if err != nil {
					b.Fatal(err)
				}
				if st < 2 {
					if err := srv.Receive(out); err != nil {
						b.Fatal(err)
					}
				}
				if st == 2 {
					break // only participant 0's masked input
				}
			}
			if st < 2 {
				var err error
				if inbox, err = srv.Advance(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
	}
}

func (r *secaggRun) benchPlainParticipant(b *testing.B) {
	b.SetBytes(int64(4 * r.d))
	q := make([]uint32, r.d)
	src := mrand.NewChaCha8([32]byte{1})
	for b.Loop() {
		if err := fixedpoint.Quantise32(q, r.update, 10, r.cfg.Params, src); err != nil {
			b.Fatal(err)
		}
		_ = fixedpoint.Encode32(q)
	}
	b.ReportMetric(float64(4*r.d), "sent-B")
}

// dropMsgs is the session with the last 10% of the participants silent
// from the masked-input stage on: a fresh recording, since the others'
// unmask messages change.
func (r *secaggRun) dropMsgs(b *testing.B) [5][][]byte {
	b.Helper()
	drop := max(1, r.n/10)
	var msgs [5][][]byte
	clients := r.clients(b)
	srv, _ := secagg.NewServer(r.cfg)
	var inbox map[uint32][]byte
	for st := range 5 {
		for i, c := range clients {
			if st >= 2 && i >= r.n-drop {
				continue
			}
			msg, ok := inbox[uint32(i)]
			if st > 0 && !ok {
				continue
			}
			out, err := step(c, st, msg, r.update)
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.Receive(out); err != nil {
				b.Fatal(err)
			}
			msgs[st] = append(msgs[st], out)
		}
		var err error
		if inbox, err = srv.Advance(); err != nil {
			b.Fatal(err)
		}
	}
	return msgs
}

// benchServer replays a recorded session to a fresh server.
func (r *secaggRun) benchServer(b *testing.B, msgs [5][][]byte) {
	b.SetBytes(int64(4 * r.d * r.n))
	for b.Loop() {
		srv, err := secagg.NewServer(r.cfg)
		if err != nil {
			b.Fatal(err)
		}
		for st := range 5 {
			for _, m := range msgs[st] {
				if err := srv.Receive(m); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := srv.Advance(); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := srv.Result(); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *secaggRun) benchPlainServer(b *testing.B) {
	b.SetBytes(int64(4 * r.d * r.n))
	q := make([]uint32, r.d)
	if err := fixedpoint.Quantise32(q, r.update, 10, r.cfg.Params, mrand.NewChaCha8([32]byte{1})); err != nil {
		b.Fatal(err)
	}
	enc := fixedpoint.Encode32(q)
	buf := make([]uint32, r.d)
	for b.Loop() {
		s, err := fixedpoint.NewSum32(r.d, r.cfg.Params)
		if err != nil {
			b.Fatal(err)
		}
		for range r.n {
			if err := fixedpoint.Decode32(buf, enc); err != nil {
				b.Fatal(err)
			}
			if err := s.Add(buf, 10); err != nil {
				b.Fatal(err)
			}
		}
	}
}
