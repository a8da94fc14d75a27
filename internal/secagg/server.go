package secagg

import (
	"bytes"
	"crypto/ecdh"
	"fmt"
	"slices"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// advert is a participant's verified advertisement.
type advert struct {
	signed             *confedv1.SecAggSigned // forwarded to its neighbours
	cipherPub, maskPub *ecdh.PublicKey
}

// Server is the aggregator's side of a session. Receive takes the
// participants' messages of the current stage; Advance closes the stage
// (all arrived, or its deadline passed) and returns the messages that start
// the next one. After the unmask stage, Result holds the sum. With fewer
// than t participants left at any stage, or any secret that cannot be
// reconstructed, the session fails closed: Advance returns a *RefusedError
// (ReasonTooFew, ReasonBadReconstruct) and the server drops everything it
// held. Server is not safe for concurrent use.
type Server struct {
	cfg    Config
	nbrs   [][]uint32
	stage  Stage
	failed error

	adverts     map[uint32]*advert                          // U1
	commitments map[uint32][]byte                           // U2: self-mask commitments
	outbox      map[uint32][]*confedv1.SecAggEncryptedShare // U2: shares by sender
	delivered   map[uint32][]uint32                         // recipient → senders whose shares it got (sorted)
	acc         []uint32                                    // Σ masked inputs, d+1 elements
	inputs      map[uint32]bool                             // U3
	survivors   []uint32                                    // U3, sorted
	consistency map[uint32]*confedv1.SecAggSigned           // U4
	reveals     map[uint32][]*confedv1.SecAggRevealedShare  // U5
	result      *Result
	masker      *masker
}

// Result is the outcome of a session.
type Result struct {
	// Sum is the ring sum of the survivors' quantised updates (Length
	// elements): read it like fixedpoint.Sum32's.
	Sum []uint32
	// TotalWeight is the sum of their weights.
	TotalWeight uint64
	// Survivors are the ids of the participants whose inputs are summed.
	Survivors []uint32
}

// NewServer returns the server of the session described by cfg, at the
// advertise-keys stage.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, nbrs: neighbours(cfg.Session, len(cfg.Peers), cfg.Degree), stage: StageAdvertise,
		adverts: map[uint32]*advert{}, commitments: map[uint32][]byte{}, outbox: map[uint32][]*confedv1.SecAggEncryptedShare{},
		delivered: map[uint32][]uint32{}, inputs: map[uint32]bool{}, consistency: map[uint32]*confedv1.SecAggSigned{},
		reveals: map[uint32][]*confedv1.SecAggRevealedShare{}}, nil
}

// Stage is the stage whose messages Receive takes now (0 once done).
func (s *Server) Stage() Stage { return s.stage }

// Expected lists the participants whose message the current stage waits for.
func (s *Server) Expected() []uint32 {
	var out []uint32
	for i := range uint32(len(s.cfg.Peers)) {
		if s.expects(i) && !s.received(i) {
			out = append(out, i)
		}
	}
	return out
}

// expects reports whether participant i may send in the current stage.
func (s *Server) expects(i uint32) bool {
	switch s.stage {
	case StageAdvertise:
		return true
	case StageShareKeys:
		return s.adverts[i] != nil
	case StageMaskedInput:
		_, ok := s.delivered[i]
		return ok
	case StageConsistency:
		return s.inputs[i]
	case StageUnmask:
		return s.consistency[i] != nil
	}
	return false
}

func (s *Server) received(i uint32) bool {
	switch s.stage {
	case StageAdvertise:
		return s.adverts[i] != nil
	case StageShareKeys:
		return s.commitments[i] != nil
	case StageMaskedInput:
		return s.inputs[i]
	case StageConsistency:
		return s.consistency[i] != nil
	case StageUnmask:
		return s.reveals[i] != nil
	}
	return false
}

// Receive takes one participant message. It refuses (with a *RefusedError)
// a malformed message, one of another session or stage, from outside the
// roster, with a bad signature, from a participant this stage does not
// expect, a second one from the same sender, and payloads inconsistent
// with the session; a refused message changes nothing.
func (s *Server) Receive(msg []byte) error {
	m, id, err := s.admit(msg)
	if err != nil {
		return err
	}
	b := m.body
	switch s.stage {
	case StageAdvertise:
		return s.receiveAdvert(id, b, &confedv1.SecAggSigned{Body: m.raw, Signature: m.sig})
	case StageShareKeys:
		return s.receiveShares(id, b.GetShareKeys())
	case StageMaskedInput:
		if len(b.GetMaskedInput().GetMasked()) == 0 {
			return refuse(ReasonMalformed, "%s announced a streamed input: use ReceiveStream", s.cfg.Peers[id].Name)
		}
		return s.receiveInput(id, b.GetMaskedInput().GetMasked())
	case StageConsistency:
		if !slices.Equal(b.GetConsistency().GetSurvivors(), s.survivors) {
			return refuse(ReasonInconsistent, "%s signed other survivors than the server sent", s.cfg.Peers[id].Name)
		}
		s.consistency[id] = &confedv1.SecAggSigned{Body: m.raw, Signature: m.sig}
		return nil
	case StageUnmask:
		return s.receiveReveals(id, b.GetUnmask().GetShares())
	}
	return refuse(ReasonOutOfStage, "session is over")
}

// admit decodes msg and checks session, sender, signature, stage, replay
// and that the sender is expected.
func (s *Server) admit(msg []byte) (*signed, uint32, error) {
	if s.failed != nil {
		return nil, 0, refuse(ReasonFailed, "session already failed: %v", s.failed)
	}
	m, err := decodeSigned(msg)
	if err != nil {
		return nil, 0, err
	}
	b := m.body
	id := b.GetSender()
	switch {
	case !bytes.Equal(b.GetSession(), s.cfg.Session[:]):
		return nil, 0, refuse(ReasonWrongSession, "message of another session from sender %d", id)
	case int(id) >= len(s.cfg.Peers):
		return nil, 0, refuse(ReasonUnknownSender, "sender %d outside the roster of %d", id, len(s.cfg.Peers))
	case !verify(s.cfg.Peers[id].Key, m.raw, m.sig):
		return nil, 0, refuse(ReasonBadSignature, "message of %s", s.cfg.Peers[id].Name)
	case b.GetStage() != s.stage:
		return nil, 0, refuse(ReasonOutOfStage, "%s sent a %s message during %s", s.cfg.Peers[id].Name, b.GetStage(), s.stage)
	case s.received(id):
		return nil, 0, refuse(ReasonReplay, "second %s message from %s", s.stage, s.cfg.Peers[id].Name)
	case !s.expects(id):
		return nil, 0, refuse(ReasonNotExpected, "%s dropped out before %s", s.cfg.Peers[id].Name, s.stage)
	}
	return m, id, nil
}

func (s *Server) receiveAdvert(id uint32, b *confedv1.SecAggBody, raw *confedv1.SecAggSigned) error {
	a := &advert{signed: raw}
	var err error
	if a.cipherPub, err = ecdh.X25519().NewPublicKey(b.GetAdvertise().GetCipherPublicKey()); err != nil {
		return refuse(ReasonMalformed, "cipher key: %v", err)
	}
	if a.maskPub, err = ecdh.X25519().NewPublicKey(b.GetAdvertise().GetMaskPublicKey()); err != nil {
		return refuse(ReasonMalformed, "mask key: %v", err)
	}
	s.adverts[id] = a
	return nil
}

func (s *Server) receiveShares(id uint32, sk *confedv1.SecAggShareKeys) error {
	seen := map[uint32]bool{}
	for _, e := range sk.GetShares() {
		to := e.GetTo()
		switch {
		case e.GetFrom() != id:
			return refuse(ReasonBadShare, "%s sent a share from %d", s.cfg.Peers[id].Name, e.GetFrom())
		case !contains(s.nbrs[id], to) || s.adverts[to] == nil:
			return refuse(ReasonBadShare, "%s sent a share to %d, not an advertised neighbour", s.cfg.Peers[id].Name, to)
		case seen[to]:
			return refuse(ReasonReplay, "%s sent two shares to %d", s.cfg.Peers[id].Name, to)
		}
		seen[to] = true
	}
	if len(seen)+1 < s.cfg.Threshold {
		return refuse(ReasonTooFew, "%s shared with %d neighbours; with itself, fewer than the threshold %d", s.cfg.Peers[id].Name, len(seen), s.cfg.Threshold)
	}
	s.commitments[id] = sk.GetSelfMaskCommitment()
	s.outbox[id] = sk.GetShares()
	return nil
}

func (s *Server) receiveInput(id uint32, masked []byte) error {
	if len(masked) != 4*(s.cfg.Length+1) {
		return refuse(ReasonMalformed, "%s sent %d bytes of masked input, want %d", s.cfg.Peers[id].Name, len(masked), 4*(s.cfg.Length+1))
	}
	s.ensureAcc()
	s.masker.addEncoded(s.acc, masked)
	s.inputs[id] = true
	return nil
}

func (s *Server) ensureAcc() {
	if s.acc == nil {
		s.acc = make([]uint32, s.cfg.Length+1)
		s.masker = newMasker(len(s.acc))
	}
}

func (s *Server) receiveReveals(id uint32, shares []*confedv1.SecAggRevealedShare) error {
	want := append(slices.Clone(s.delivered[id]), id)
	slices.Sort(want)
	got := make([]uint32, 0, len(shares))
	for _, r := range shares {
		owner := r.GetOwner()
		kind := confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_MASK_KEY
		if s.inputs[owner] {
			kind = confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_SELF_MASK
		}
		if r.GetKind() != kind {
			return refuse(ReasonInconsistent, "%s revealed a %s share of %d, want %s", s.cfg.Peers[id].Name, r.GetKind(), owner, kind)
		}
		got = append(got, owner)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return refuse(ReasonInconsistent, "%s revealed shares of %v, want exactly one of each of %v", s.cfg.Peers[id].Name, got, want)
	}
	s.reveals[id] = shares
	return nil
}

// Advance closes the current stage and returns, by participant id, the
// encoded messages that start the next one (none after the unmask stage,
// which computes the result). Fewer than t participants left fails the
// session closed.
func (s *Server) Advance() (map[uint32][]byte, error) {
	if s.failed != nil {
		return nil, refuse(ReasonFailed, "session already failed: %v", s.failed)
	}
	var out map[uint32][]byte
	var err error
	switch s.stage {
	case StageAdvertise:
		out, err = s.advanceAdvertise()
	case StageShareKeys:
		out, err = s.advanceShares()
	case StageMaskedInput:
		out, err = s.advanceInputs()
	case StageConsistency:
		out, err = s.advanceConsistency()
	case StageUnmask:
		err = s.finish()
	default:
		return nil, refuse(ReasonOutOfStage, "session is over")
	}
	if err != nil {
		s.fail(err)
		return nil, err
	}
	if s.stage == StageUnmask {
		s.stage = 0
	} else {
		s.stage++
	}
	return out, nil
}

// fail drops everything the server held: no partial sum, share or secret
// survives a failed session.
func (s *Server) fail(err error) {
	s.failed = err
	clear(s.acc)
	s.acc, s.masker, s.result = nil, nil, nil
	s.adverts, s.commitments, s.outbox, s.delivered = nil, nil, nil, nil
	s.inputs, s.consistency, s.reveals, s.survivors = nil, nil, nil, nil
}

func (s *Server) tooFew(stage string, n int) error {
	if n < s.cfg.Threshold {
		return refuse(ReasonTooFew, "%d participants %s, fewer than the threshold %d", n, stage, s.cfg.Threshold)
	}
	return nil
}

func (s *Server) serverMsg(to uint32, stage Stage) *confedv1.SecAggServerMessage {
	return &confedv1.SecAggServerMessage{Session: s.cfg.Session[:], Stage: stage, Recipient: to}
}

func (s *Server) advanceAdvertise() (map[uint32][]byte, error) {
	if err := s.tooFew("advertised keys", len(s.adverts)); err != nil {
		return nil, err
	}
	out := map[uint32][]byte{}
	for i := range s.adverts {
		m := s.serverMsg(i, StageShareKeys)
		for _, j := range s.nbrs[i] {
			if a := s.adverts[j]; a != nil {
				m.Advertisements = append(m.Advertisements, a.signed)
			}
		}
		b, err := marshal.Marshal(m)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// advanceShares forwards each share whose reverse share also exists, so
// that i masks with j exactly when j masks with i.
func (s *Server) advanceShares() (map[uint32][]byte, error) {
	if err := s.tooFew("shared keys", len(s.outbox)); err != nil {
		return nil, err
	}
	sentTo := func(from, to uint32) bool {
		return slices.ContainsFunc(s.outbox[from], func(e *confedv1.SecAggEncryptedShare) bool { return e.GetTo() == to })
	}
	msgs := map[uint32]*confedv1.SecAggServerMessage{}
	for i := range s.outbox {
		msgs[i] = s.serverMsg(i, StageMaskedInput)
		s.delivered[i] = []uint32{}
	}
	for from, es := range s.outbox {
		for _, e := range es {
			to := e.GetTo()
			if msgs[to] != nil && sentTo(to, from) {
				msgs[to].Shares = append(msgs[to].Shares, e)
				s.delivered[to] = append(s.delivered[to], from)
			}
		}
	}
	s.outbox = nil
	out := map[uint32][]byte{}
	for i, m := range msgs {
		slices.Sort(s.delivered[i])
		b, err := marshal.Marshal(m)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (s *Server) advanceInputs() (map[uint32][]byte, error) {
	if err := s.tooFew("sent masked input", len(s.inputs)); err != nil {
		return nil, err
	}
	for i := range s.inputs {
		s.survivors = append(s.survivors, i)
	}
	slices.Sort(s.survivors)
	out := map[uint32][]byte{}
	for _, i := range s.survivors {
		m := s.serverMsg(i, StageConsistency)
		m.Survivors = s.survivors
		b, err := marshal.Marshal(m)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (s *Server) advanceConsistency() (map[uint32][]byte, error) {
	if err := s.tooFew("signed the survivors", len(s.consistency)); err != nil {
		return nil, err
	}
	out := map[uint32][]byte{}
	for i := range s.consistency {
		m := s.serverMsg(i, StageUnmask)
		for _, j := range append(slices.Clone(s.delivered[i]), i) {
			if c := s.consistency[j]; c != nil {
				m.Signatures = append(m.Signatures, c)
			}
		}
		b, err := marshal.Marshal(m)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// Result returns the session's result once the unmask stage has been
// advanced.
func (s *Server) Result() (*Result, error) {
	if s.failed != nil {
		return nil, refuse(ReasonFailed, "session failed: %v", s.failed)
	}
	if s.result == nil {
		return nil, fmt.Errorf("secagg: no result before the unmask stage is advanced")
	}
	return s.result, nil
}
