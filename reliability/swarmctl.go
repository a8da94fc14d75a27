package reliability

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/confed/confed/internal/pki"
)

// Swarm is a running swarm child and what it has reported.
type Swarm struct {
	*Proc
	mu       sync.Mutex
	accepted map[string][]uint64 // participant → rounds accepted
	events   []SwarmEvent
	streams  int
	first    map[uint64]time.Time // round → first header sent
	lastOK   map[uint64]time.Time // round → last acceptance
	drained  chan struct{}
}

// StartSwarm starts a swarm child for names (issuing their credentials)
// against f's coordinator; spec's CoordAddr and Files are filled in.
func (f *Fed) StartSwarm(label string, names []string, spec SwarmSpec) (*Swarm, error) {
	spec.CoordAddr = f.CoordAddr
	spec.Files = map[string]pki.Files{}
	if spec.Features == 0 {
		spec.Features = f.Spec.Features
	}
	for _, n := range names {
		files, err := f.PKI.Issue(pki.RoleParticipant, n)
		if err != nil {
			return nil, err
		}
		spec.Files[n] = files
	}
	p, err := startChild(label, "swarm", spec)
	if err != nil {
		return nil, err
	}
	s := &Swarm{Proc: p, accepted: map[string][]uint64{}, first: map[uint64]time.Time{},
		lastOK: map[uint64]time.Time{}, drained: make(chan struct{})}
	go s.consume()
	if _, err := p.WaitReady(2 * time.Minute); err != nil {
		p.Kill()
		return nil, err
	}
	return s, nil
}

func (s *Swarm) consume() {
	defer close(s.drained)
	for {
		select {
		case raw := <-s.Proc.events:
			s.record(raw)
		case <-s.Proc.done:
			for {
				select {
				case raw := <-s.Proc.events:
					s.record(raw)
				default:
					return
				}
			}
		}
	}
}

func (s *Swarm) record(raw json.RawMessage) {
	var ev SwarmEvent
	if json.Unmarshal(raw, &ev) != nil {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	switch {
	case ev.Kind == "stream":
		s.streams++
		if _, ok := s.first[ev.Round]; !ok {
			s.first[ev.Round] = now
		}
	case ev.Kind == "done" && ev.OK:
		s.accepted[ev.P] = append(s.accepted[ev.P], ev.Round)
		s.lastOK[ev.Round] = now
	}
}

// Streams is how many update streams the swarm has started.
func (s *Swarm) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams
}

// AcceptedIn is how many of the swarm's participants had an update accepted
// in round r.
func (s *Swarm) AcceptedIn(r uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rs := range s.accepted {
		for _, x := range rs {
			if x == r {
				n++
			}
		}
	}
	return n
}

// Window is the time from round r's first header to its last acceptance.
func (s *Swarm) Window(r uint64) (time.Time, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first[r], s.lastOK[r]
}

// Events returns a copy of the events so far.
func (s *Swarm) Events() []SwarmEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SwarmEvent(nil), s.events...)
}

// Errors returns the swarm's "error" events as strings.
func (s *Swarm) Errors() []string {
	var out []string
	for _, ev := range s.Events() {
		if ev.Kind == "error" {
			out = append(out, fmt.Sprintf("%s: %s", ev.P, ev.Reason))
		}
	}
	return out
}

// Close stops the swarm (bounded).
func (s *Swarm) Close() {
	s.Proc.Stop(20 * time.Second)
	select {
	case <-s.drained:
	case <-time.After(5 * time.Second):
	}
}

// names returns prefix000 … for n participants.
func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}
