package secagg

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// drops returns dropAt with the given participants silent from stage st.
func drops(st Stage, ids ...uint32) map[uint32]Stage {
	m := map[uint32]Stage{}
	for _, i := range ids {
		m[i] = st
	}
	return m
}

// survivorsOf lists who sent masked input: everyone not dropped at or
// before the masked-input stage.
func survivorsOf(n int, dropAt map[uint32]Stage) []uint32 {
	var out []uint32
	for i := range uint32(n) {
		if d, ok := dropAt[i]; !ok || d > StageMaskedInput {
			out = append(out, i)
		}
	}
	return out
}

func TestUnmaskedSumEqualsPlainSum(t *testing.T) {
	type tc struct {
		name                 string
		n, degree, threshold int
		length               int
		dropAt               map[uint32]Stage
	}
	tests := []tc{
		{"complete, no dropout", 5, 0, 3, 37, nil},
		{"sparse graph, no dropout", 12, 4, 3, 50, nil},
		{"two participants", 2, 0, 2, 9, nil},
		{"longer than one mask chunk", 3, 0, 2, chunkWords + 3, nil},
	}
	for st := StageAdvertise; st <= StageUnmask; st++ {
		tests = append(tests,
			tc{fmt.Sprintf("complete, 1 dropout at %s", st), 6, 0, 4, 31, drops(st, 2)},
			tc{fmt.Sprintf("complete, n-t dropouts at %s", st), 7, 0, 4, 23, drops(st, 0, 3, 6)},
			tc{fmt.Sprintf("sparse, 1 dropout at %s", st), 14, 6, 4, 19, drops(st, 5)},
		)
	}
	tests = append(tests, tc{"complete, dropouts at every stage", 10, 0, 6, 17,
		map[uint32]Stage{1: StageShareKeys, 4: StageMaskedInput, 7: StageConsistency, 9: StageUnmask}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := newSim(t, newSession(t, tt.n, tt.degree, tt.threshold, tt.length), 1)
			res, err := sm.run(t, tt.dropAt)
			if err != nil {
				t.Fatalf("session failed: %v (client refusals: %v)", err, sm.clientErrs)
			}
			if len(sm.clientErrs) > 0 {
				t.Fatalf("clients refused: %v", sm.clientErrs)
			}
			want := survivorsOf(tt.n, tt.dropAt)
			if !slices.Equal(res.Survivors, want) {
				t.Fatalf("survivors %v, want %v", res.Survivors, want)
			}
			sum, w := sm.plainSum(t, want)
			if !slices.Equal(res.Sum, sum) {
				t.Error("unmasked sum differs from the plain fixed-point sum")
			}
			if res.TotalWeight != w {
				t.Errorf("total weight %d, want %d", res.TotalWeight, w)
			}
		})
	}
}

// serverHoldsNothing asserts that a failed server keeps no sum, share or
// secret.
func serverHoldsNothing(t *testing.T, s *Server) {
	t.Helper()
	if s.acc != nil || s.result != nil || s.masker != nil || s.reveals != nil || s.outbox != nil ||
		s.commitments != nil || s.adverts != nil || s.delivered != nil || s.consistency != nil || s.inputs != nil || s.survivors != nil {
		t.Errorf("failed server still holds state: acc=%v result=%v reveals=%d outbox=%d commitments=%d",
			s.acc != nil, s.result != nil, len(s.reveals), len(s.outbox), len(s.commitments))
	}
	if _, err := s.Result(); ReasonOf(err) != ReasonFailed {
		t.Errorf("Result after failure: %v, want %s", err, ReasonFailed)
	}
	if err := s.Receive(nil); ReasonOf(err) != ReasonFailed {
		t.Errorf("Receive after failure: %v, want %s", err, ReasonFailed)
	}
}

func TestTooFewSurvivorsFailsClosed(t *testing.T) {
	for st := StageAdvertise; st <= StageUnmask; st++ {
		t.Run(st.String(), func(t *testing.T) {
			// n = 6, t = 4: three silent participants leave three.
			sm := newSim(t, newSession(t, 6, 0, 4, 21), 2)
			_, err := sm.run(t, drops(st, 1, 2, 5))
			if ReasonOf(err) != ReasonTooFew {
				t.Fatalf("error %v, want %s", err, ReasonTooFew)
			}
			serverHoldsNothing(t, sm.server)
			// Nobody revealed anything a server could unmask one input with.
			for owner, kinds := range sm.reveals(t) {
				if kinds[confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_SELF_MASK] >= 4 {
					t.Errorf("%d self-mask shares of %d reached the server", kinds[confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_SELF_MASK], owner)
				}
			}
		})
	}
}

// A sparse neighbourhood that shrinks below t fails the session even though
// many participants survive overall.
func TestTooFewNeighboursFailsClosed(t *testing.T) {
	s := newSession(t, 12, 4, 3, 8)
	sm := newSim(t, s, 3)
	nb := neighbours(s.cfg.Session, 12, 4)[0]
	// Participant 0 sends its input, then three of its four neighbours go
	// silent: its seed cannot be reconstructed.
	_, err := sm.run(t, drops(StageConsistency, nb[0], nb[1], nb[2]))
	if ReasonOf(err) != ReasonTooFew {
		t.Fatalf("error %v, want %s", err, ReasonTooFew)
	}
	serverHoldsNothing(t, sm.server)
}

// TestNeverBothShares: over random dropout patterns, the server never
// receives both the self-mask share and the mask-key share of one
// participant, and every session either yields the exact sum or fails
// closed.
func TestNeverBothShares(t *testing.T) {
	r := mrand.New(mrand.NewPCG(11, 12))
	s := newSession(t, 7, 0, 4, 13)
	sparse := newSession(t, 15, 6, 4, 13)
	for trial := range 16 {
		sess := s
		if trial%2 == 1 {
			sess = sparse
		}
		n := len(sess.cfg.Peers)
		dropAt := map[uint32]Stage{}
		for i := range uint32(n) {
			if r.IntN(4) == 0 {
				dropAt[i] = Stage(1 + r.IntN(5))
			}
		}
		sm := newSim(t, sess, uint64(trial))
		res, err := sm.run(t, dropAt)
		for owner, kinds := range sm.reveals(t) {
			if len(kinds) > 1 {
				t.Fatalf("trial %d: server received both kinds of share of %d: %v", trial, owner, kinds)
			}
		}
		if err != nil {
			if ReasonOf(err) != ReasonTooFew {
				t.Fatalf("trial %d: %v", trial, err)
			}
			serverHoldsNothing(t, sm.server)
			continue
		}
		sum, _ := sm.plainSum(t, res.Survivors)
		if !slices.Equal(sum, res.Sum) {
			t.Fatalf("trial %d: wrong sum", trial)
		}
	}
}
