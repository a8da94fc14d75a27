package reliability

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Plan sizes the scenarios: how many times each fault is injected, and
// the round deadline the fault federations run with.
type Plan struct {
	Name    string
	Seed    uint64
	Repeats int
	// Deadline is the round deadline of the fault federations.
	Deadline time.Duration
	// Load lists the load runs.
	Load []LoadSpec
	// CheckBound asserts the load's memory bound.
	CheckBound bool
	// Sections, if not empty, limits the run to these sections (load,
	// faults, network, skew, hostile, poisoning).
	Sections []string
}

// runs reports whether the plan runs section.
func (p Plan) runs(section string) bool {
	return len(p.Sections) == 0 || slices.Contains(p.Sections, section)
}

// faultCtx is what one fault scenario shares: the plan's random source,
// and the coordinator files verified.
type faultCtx struct {
	plan     Plan
	rng      *rand.Rand
	verified int
	// verifyFailed counts coordinator files that did not verify.
	verifyFailed int
}

// pause sleeps a random duration in [0, most).
func (c *faultCtx) pause(most time.Duration) time.Duration {
	d := time.Duration(c.rng.Int64N(int64(most)))
	time.Sleep(d)
	return d
}

// faultFeatures sizes the fault federations' model: big enough that a
// slowed stream takes a while, small enough to be quick.
const faultFeatures = 20000

// honestFed starts a federation of h honest participants (one swarm) and
// the extra expected participants, with min.
func honestFed(c *faultCtx, h int, extra []string, min int, mod func(*FedSpec)) (*Fed, *Swarm, error) {
	hs := names("h", h)
	spec := FedSpec{Participants: append(append([]string{}, hs...), extra...), Min: min, Features: faultFeatures,
		RoundDeadline: c.plan.Deadline}
	if mod != nil {
		mod(&spec)
	}
	f, err := StartFed(spec)
	if err != nil {
		return nil, nil, err
	}
	s, err := f.StartSwarm("honest", hs, SwarmSpec{Seed: 1, ChunkSize: 16 << 10, ChunkDelay: 2 * time.Millisecond, Distinct: true})
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, s, nil
}

// finish stops the swarms and the coordinator and verifies the store.
func (c *faultCtx) finish(f *Fed, swarms ...*Swarm) error {
	for _, s := range swarms {
		if s != nil {
			s.Close()
		}
	}
	if err := f.StopCoordinator(); err != nil {
		return err
	}
	spec, err := lrSpec(f.Spec.Features)
	if err != nil {
		return err
	}
	if _, err := VerifyStore(f.DBPath(), spec); err != nil {
		c.verifyFailed++
		return err
	}
	c.verified++
	return nil
}

// waitStream waits until swarm s has started a stream in round r or later
// and returns that round.
func waitStream(s *Swarm, after uint64, timeout time.Duration) (uint64, error) {
	var r uint64
	err := waitFor(timeout, fmt.Sprintf("%s to start an update stream after round %d", s.Name, after), func() (bool, string, error) {
		for _, ev := range s.Events() {
			if ev.Kind == "stream" && ev.Round > after {
				r = ev.Round
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d events", len(s.Events())), nil
	})
	return r, err
}

// acceptedBy reports whether the swarm saw p accepted in round r.
func acceptedBy(s *Swarm, p string, r uint64) bool {
	for _, ev := range s.Events() {
		if ev.Kind == "done" && ev.OK && ev.P == p && ev.Round == r {
			return true
		}
	}
	return false
}

func includedIn(st *confedv1.RoundStatus, p string) bool {
	for _, s := range st.GetSubmissions() {
		if s.GetParticipant() == p && s.GetIncluded() {
			return true
		}
	}
	return false
}

var (
	published = confedv1.RoundState_ROUND_STATE_PUBLISHED
	failed    = confedv1.RoundState_ROUND_STATE_FAILED
)

// faultParticipantKilled kills a slow participant's process at a random
// point of its update stream, Repeats times. Its partial update must be
// discarded and the round published with the others; the participant is
// restarted for the next round.
func faultParticipantKilled(c *faultCtx) Row {
	row := Row{Section: "fault", Name: "participant killed mid-stream (SIGKILL)"}
	f, honest, err := honestFed(c, 3, []string{"victim"}, 3, nil)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer f.Close()
	var victim *Swarm
	defer func() {
		if victim != nil {
			victim.Close()
		}
	}()
	mid, after := 0, 0
	var last uint64
	for i := 0; i < c.plan.Repeats; i++ {
		row.Tried++
		victim, err = f.StartSwarm("victim", []string{"victim"}, SwarmSpec{Seed: 9, ChunkSize: 4 << 10, ChunkDelay: 10 * time.Millisecond})
		if err != nil {
			row.Err = err.Error()
			return row
		}
		r, err := waitStream(victim, last, time.Minute)
		if err != nil {
			row.Err = err.Error()
			return row
		}
		c.pause(600 * time.Millisecond)
		victim.Kill()
		wasAccepted := acceptedBy(victim, "victim", r)
		victim = nil
		st, err := f.WaitRoundState(r, 2*c.plan.Deadline+time.Minute, published, failed)
		if err != nil {
			row.Err = err.Error()
			return row
		}
		last = r
		switch {
		case st.GetState() != published:
			row.Err = fmt.Sprintf("round %d %s after the participant was killed: %s", r, st.GetState(), st.GetReason())
		case !wasAccepted && includedIn(st, "victim"):
			row.Err = fmt.Sprintf("round %d included the killed participant's partial update", r)
		case included(st) != 3 && !wasAccepted:
			row.Err = fmt.Sprintf("round %d included %d updates, want the 3 others", r, included(st))
		default:
			row.Held++
			if wasAccepted {
				after++
			} else {
				mid++
			}
		}
		if row.Err != "" {
			return row
		}
	}
	row.Detail = fmt.Sprintf("%d killed mid-stream (partial discarded, round published with the others), %d killed after acceptance", mid, after)
	if err := c.finish(f, honest); err != nil {
		row.Err = err.Error()
	}
	return row
}

// faultTooFewRemain kills one of the two participants a round needs: the
// round must fail at the deadline with a reason, and nothing be published.
func faultTooFewRemain(c *faultCtx) Row {
	row := Row{Section: "fault", Name: "participant killed, too few remain"}
	f, honest, err := honestFed(c, 1, []string{"victim"}, 2, nil)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer f.Close()
	victim, err := f.StartSwarm("victim", []string{"victim"}, SwarmSpec{Seed: 9, ChunkSize: 4 << 10, ChunkDelay: 10 * time.Millisecond})
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.Tried++
	r, err := waitStream(victim, 0, time.Minute)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	c.pause(300 * time.Millisecond)
	victim.Kill()
	st, err := f.WaitRoundState(r, 2*c.plan.Deadline+time.Minute, published, failed)
	switch {
	case err != nil:
		row.Err = err.Error()
	case acceptedBy(victim, "victim", r):
		row.Held++ // killed after acceptance: the round has both
		row.Detail = "killed after its update was accepted"
	case st.GetState() != failed:
		row.Err = fmt.Sprintf("round %d %s with too few updates", r, st.GetState())
	default:
		row.Held++
		row.Detail = "round failed: " + trim(st.GetReason(), 140)
	}
	if err := c.finish(f, honest); err != nil && row.Err == "" {
		row.Err = err.Error()
	}
	return row
}

// faultAggregatorKilled SIGKILLs the aggregator at a random point of a
// round and restarts it, Repeats times: the round must fail with a reason,
// the next round publish with every participant included once.
func faultAggregatorKilled(c *faultCtx) Row {
	row := Row{Section: "fault", Name: "aggregator killed mid-round (SIGKILL) and restarted"}
	f, honest, err := honestFed(c, 4, nil, 4, nil)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer f.Close()
	var last uint64
	reasons := map[string]int{}
	for i := 0; i < c.plan.Repeats && row.Err == ""; i++ {
		row.Tried++
		r, err := waitStream(honest, last, 2*c.plan.Deadline+time.Minute)
		if err != nil {
			row.Err = err.Error()
			break
		}
		c.pause(400 * time.Millisecond)
		f.Agg.Kill()
		if err := f.StartAggregator(); err != nil {
			row.Err = err.Error()
			break
		}
		st, err := f.WaitRoundState(r, 2*c.plan.Deadline+time.Minute, published, failed)
		if err != nil {
			row.Err = err.Error()
			break
		}
		if st.GetState() == failed {
			reasons[st.GetReason()]++
		}
		// A later round must publish with all four, each once.
		next, err := f.waitPublishedAfter(r, 2*c.plan.Deadline+2*time.Minute)
		switch {
		case err != nil:
			row.Err = err.Error()
		case included(next) != 4:
			row.Err = fmt.Sprintf("round %d after the restart published with %d included", next.GetRound(), included(next))
		default:
			row.Held++
			r = next.GetRound()
		}
		last = r + 1
	}
	row.Detail = "round failed: " + joinCounts(reasons) + "; next round published with all 4"
	if err := c.finish(f, honest); err != nil && row.Err == "" {
		row.Err = err.Error()
	}
	return row
}

// faultCoordinatorKilled SIGKILLs the coordinator at a random point while
// rounds run (it writes round statuses, models and ledger records), checks
// that the file opens and verifies, restarts it and waits for a round to
// publish, Repeats times.
func faultCoordinatorKilled(c *faultCtx) Row {
	row := Row{Section: "fault", Name: "coordinator killed during writes (SIGKILL) and restarted"}
	f, honest, err := honestFed(c, 4, nil, 4, nil)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer f.Close()
	spec, err := lrSpec(faultFeatures)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	var last uint64
	reasons := map[string]int{}
	for i := 0; i < c.plan.Repeats && row.Err == ""; i++ {
		row.Tried++
		r, err := waitStream(honest, last, 2*c.plan.Deadline+time.Minute)
		if err != nil {
			row.Err = err.Error()
			break
		}
		c.pause(time.Second)
		f.Coord.Kill()
		chk, err := VerifyStore(f.DBPath(), spec)
		if err != nil {
			c.verifyFailed++
			row.Err = fmt.Sprintf("after the kill in round %d: %v", r, err)
			break
		}
		c.verified++
		if err := f.StartCoordinator(); err != nil {
			row.Err = err.Error()
			break
		}
		if _, err := f.waitPublishedAfter(chk.LastRound, 2*c.plan.Deadline+2*time.Minute); err != nil {
			row.Err = err.Error()
			break
		}
		rs, _, err := f.Rounds()
		if err != nil {
			row.Err = err.Error()
			break
		}
		for _, s := range rs {
			if s.GetState() == failed && strings.Contains(s.GetReason(), "coordinator restarted") {
				reasons[s.GetReason()] = 1
			}
			last = max(last, s.GetRound())
		}
		row.Held++
	}
	row.Detail = fmt.Sprintf("file opened and verified after each kill; %d rounds failed as %q", len(reasons), "coordinator restarted while the round was …")
	if err := c.finish(f, honest); err != nil && row.Err == "" {
		row.Err = err.Error()
	}
	return row
}

func joinCounts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%q ×%d", trim(k, 80), v))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// waitPublishedAfter waits for a published round after round r.
func (f *Fed) waitPublishedAfter(r uint64, timeout time.Duration) (*confedv1.RoundStatus, error) {
	var got *confedv1.RoundStatus
	err := waitFor(timeout, fmt.Sprintf("a round after %d to publish", r), func() (bool, string, error) {
		rs, _, err := f.Rounds()
		if err != nil {
			return false, err.Error(), nil
		}
		for _, s := range rs {
			if s.GetRound() > r && s.GetState() == published {
				got = s
				return true, "", nil
			}
		}
		return false, Summary(rs) + f.procLogs(), nil
	})
	return got, err
}
