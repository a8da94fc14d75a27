package aggregator

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/aggregator/strategy"
	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/seal"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// partialWait bounds how long the root's CLOSE waits for the leaves'
// partials (a leaf first waits for its own updates to be folded, up to
// foldWait, then streams a model-sized sum).
const partialWait = 2 * time.Minute

// treeService is the root aggregator's TreeAggregator service.
type treeService struct {
	confedv1.UnimplementedTreeAggregatorServer
	s *Server
}

// SubmitPartial receives one leaf's partial aggregate and adds it to the
// round's sum as it streams in.
func (t *treeService) SubmitPartial(srv confedv1.TreeAggregator_SubmitPartialServer) error {
	s := t.s
	ctx := srv.Context()
	id, err := pki.RequireRole(ctx, pki.RoleAggregator)
	if err != nil {
		return status.Error(codes.PermissionDenied, err.Error())
	}
	first, err := srv.Recv()
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "receiving partial header: %v", err)
	}
	rs, r, rec, err := s.admitPartial(ctx, id.Name, first.GetHeader())
	if err != nil {
		s.log.Warn("partial aggregate refused", logging.KeyPeer, id.Name, logging.KeyReason, err)
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	resp := s.receivePartial(rs, r, id.Name, first.GetHeader(), rec, srv)
	if !resp.GetAccepted() {
		s.log.Warn("partial aggregate refused", logging.KeyRound, rs.task.GetRound(), logging.KeyPeer, id.Name, logging.KeyReason, resp.GetReason())
	}
	return srv.SendAndClose(resp)
}

// admitPartial checks everything that can be checked before any data is
// read: the round, the leaf and its evidence, the header. The leaf is then
// marked as sending, so that it cannot send twice.
func (s *Server) admitPartial(ctx context.Context, leaf string, h *confedv1.PartialHeader) (*roundState, *treeRound, *confedv1.TreeLeafRecord, error) {
	if h == nil {
		return nil, nil, nil, errors.New("partial stream must start with a header")
	}
	rs, err := s.round(h.GetRound())
	if err != nil {
		return nil, nil, nil, err
	}
	r := s.tree.role(h.GetRound())
	if !r.isRoot() {
		return nil, nil, nil, fmt.Errorf("this aggregator is not the root of round %d", h.GetRound())
	}
	shard, ok := r.shards[leaf]
	if !ok {
		return nil, nil, nil, fmt.Errorf("%q is not a leaf of round %d's tree", leaf, h.GetRound())
	}
	rec, err := s.leafEvidence(ctx, leaf)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkPartialHeader(h, rs.globalSHA[:], rs.partialKind(), rs.spec.NumParams(), shard); err != nil {
		return nil, nil, nil, err
	}
	s.tree.mu.Lock()
	defer s.tree.mu.Unlock()
	switch {
	case r.combining && r.poisoned != nil:
		return nil, nil, nil, fmt.Errorf("round %d no longer takes partials: %w", h.GetRound(), r.poisoned)
	case r.combining:
		return nil, nil, nil, fmt.Errorf("round %d no longer takes partials", h.GetRound())
	case r.receiving[leaf] || r.partials[leaf] != nil:
		return nil, nil, nil, fmt.Errorf("leaf %q already sent its partial of round %d", leaf, h.GetRound())
	}
	r.receiving[leaf] = true
	return rs, r, rec, nil
}

// partialKind is the kind of the round's sum, which partials must match.
func (rs *roundState) partialKind() confedv1.PartialKind {
	switch {
	case rs.ring != nil:
		return confedv1.PartialKind_PARTIAL_KIND_RING32
	case rs.ring64 != nil:
		return confedv1.PartialKind_PARTIAL_KIND_RING64
	}
	return confedv1.PartialKind_PARTIAL_KIND_FLOAT64
}

// leafEvidence requires the connection's peer to have presented evidence
// that meets this aggregator's policy (verified at the handshake, and again
// here), and records it for the manifest.
func (s *Server) leafEvidence(ctx context.Context, leaf string) (*confedv1.TreeLeafRecord, error) {
	ai, ok := atls.AuthInfoFromContext(ctx)
	if !ok || !ai.Attested() {
		return nil, fmt.Errorf("leaf %q presented no TEE evidence", leaf)
	}
	claims, err := s.verifier.Verify(ctx, ai.Evidence, ai.PeerClaims.ReportData)
	if err != nil {
		return nil, fmt.Errorf("evidence of leaf %q does not meet the aggregator policy: %w", leaf, err)
	}
	sum := sha256.Sum256(ai.Evidence.Raw)
	return &confedv1.TreeLeafRecord{Leaf: leaf, EvidenceKind: ai.Evidence.Kind, EvidenceSha256: sum[:],
		Measurement: slices.Clone(claims.Measurement), Insecure: claims.Insecure}, nil
}

// checkPartialHeader checks a partial's header against the round: base
// model, kind, exact size, hash and sealing present, and contributions
// from the leaf's shard, each once, with example counts in range.
func checkPartialHeader(h *confedv1.PartialHeader, globalSHA []byte, kind confedv1.PartialKind, numParams int, shard []string) error {
	if string(h.GetBaseModelSha256()) != string(globalSHA) {
		return fmt.Errorf("partial was aggregated from model %x, round %d starts from %x", h.GetBaseModelSha256(), h.GetRound(), globalSHA)
	}
	if h.GetKind() != kind {
		return fmt.Errorf("partial is %v, round %d sums %v", h.GetKind(), h.GetRound(), kind)
	}
	elem, err := partialElemSize(kind)
	if err != nil {
		return fmt.Errorf("round %d: %w", h.GetRound(), err)
	}
	if want := uint64(elem) * uint64(numParams); h.GetSize() != want {
		return fmt.Errorf("partial declares %d bytes, a sum of this model has %d", h.GetSize(), want)
	}
	if len(h.GetPartialSha256()) != sha256.Size {
		return fmt.Errorf("partial SHA-256 has %d bytes, want %d", len(h.GetPartialSha256()), sha256.Size)
	}
	if len(h.GetSealedStream()) == 0 {
		return errors.New("the partial is not sealed to the round's attested key")
	}
	if len(h.GetContributions()) == 0 {
		return errors.New("partial holds no contributions")
	}
	seen := map[string]bool{}
	for _, c := range h.GetContributions() {
		p := c.GetParticipant()
		switch {
		case !slices.Contains(shard, p):
			return fmt.Errorf("partial holds %q, who is not in the leaf's shard", p)
		case seen[p]:
			return fmt.Errorf("partial holds %q twice", p)
		case c.GetNumExamples() == 0 || c.GetNumExamples() > maxExamples:
			return fmt.Errorf("partial gives %q num_examples %d, out of range 1..%d", p, c.GetNumExamples(), uint64(maxExamples))
		case len(c.GetUpdateSha256()) != sha256.Size:
			return fmt.Errorf("partial gives the update of %q a hash of %d bytes", p, len(c.GetUpdateSha256()))
		}
		seen[p] = true
	}
	return nil
}

// receivePartial opens the sealed stream and adds the sum into the round's
// as it arrives. A partial that fails once part of it was added leaves the
// round's sum unusable: the round is then poisoned and its CLOSE fails.
func (s *Server) receivePartial(rs *roundState, r *treeRound, leaf string, h *confedv1.PartialHeader, rec *confedv1.TreeLeafRecord, srv confedv1.TreeAggregator_SubmitPartialServer) *confedv1.PartialResponse {
	added := false
	sum, err := s.readPartial(rs, leaf, h, srv, &added)
	s.tree.mu.Lock()
	defer s.tree.mu.Unlock()
	r.receiving[leaf] = false
	if err != nil {
		if added {
			r.poisoned = fmt.Errorf("the partial of leaf %q failed after part of it was added: %w", leaf, err)
			r.wake()
		}
		return &confedv1.PartialResponse{Reason: err.Error()}
	}
	rec.Participants = make([]string, 0, len(h.GetContributions()))
	contribs := make([]*confedv1.Contribution, 0, len(h.GetContributions()))
	for _, c := range h.GetContributions() {
		rec.Participants = append(rec.Participants, c.GetParticipant())
		contribs = append(contribs, &confedv1.Contribution{Participant: c.GetParticipant(), NumExamples: c.GetNumExamples(), UpdateSha256: c.GetUpdateSha256()})
	}
	slices.Sort(rec.Participants)
	rec.PartialSha256 = sum[:]
	r.partials[leaf] = &leafPartial{contributions: contribs, record: rec}
	r.wake()
	s.log.Info("partial aggregate added", logging.KeyRound, h.GetRound(), logging.KeyPeer, leaf, "contributions", len(contribs))
	return &confedv1.PartialResponse{Accepted: true, PartialSha256: sum[:]}
}

// readPartial reads, opens, decodes and adds the partial, then checks its
// hash and counts its updates; *added is set once any of it was added.
func (s *Server) readPartial(rs *roundState, leaf string, h *confedv1.PartialHeader, srv confedv1.TreeAggregator_SubmitPartialServer, added *bool) ([32]byte, error) {
	var sum [32]byte
	op, err := seal.NewOpener(rs.key, h.GetSealedStream(), seal.Context{
		Federation: s.federation, Round: rs.task.GetRound(), AggregatorMeasurement: s.claims.Measurement, Participant: leaf,
	})
	if err != nil {
		return sum, fmt.Errorf("sealed partial: %w", err)
	}
	weights := make([]uint64, 0, len(h.GetContributions()))
	var total uint64
	for _, c := range h.GetContributions() {
		weights = append(weights, c.GetNumExamples())
		total += c.GetNumExamples()
	}
	sink, err := s.partialSink(rs, weights, added)
	if err != nil {
		return sum, err
	}
	dec, err := newPartialDecoder(h.GetKind(), int64(h.GetSize()), sink)
	if err != nil {
		return sum, err
	}
	if err := readSealedPartial(op, srv, dec); err != nil {
		return sum, err
	}
	if sum, err = dec.Close(); err != nil {
		return sum, err
	}
	if string(sum[:]) != string(h.GetPartialSha256()) {
		return sum, fmt.Errorf("partial hashes to %x, its header declares %x", sum, h.GetPartialSha256())
	}
	switch {
	case rs.ring != nil:
		return sum, rs.ring.AddPartialCount(len(weights), total)
	case rs.ring64 != nil:
		return sum, rs.ring64.AddPartialCount(len(weights), total)
	}
	return sum, rs.acc.AddPartialCount(len(weights), float64(total))
}

// partialSink adds decoded pieces of a partial to the round's sum; in the
// ring, each element must lie within what the partial's weights allow.
func (s *Server) partialSink(rs *roundState, weights []uint64, added *bool) (sinks, error) {
	if rs.ring == nil && rs.ring64 == nil {
		return sinks{f64: func(lo int, v []float64) error {
			*added = true
			return rs.acc.AddSumAt(lo, v)
		}}, nil
	}
	bound, err := ringParams(rs.task.GetParams().GetFixedPoint()).PartialBound(weights)
	if err != nil {
		return sinks{}, err
	}
	return sinks{
		u32: func(lo int, v []uint32) error {
			*added = true
			return rs.ring.AddRawAt(lo, v, bound)
		},
		u64: func(lo int, v []uint64) error {
			*added = true
			return rs.ring64.AddRawAt(lo, v, bound)
		},
	}, nil
}

// readSealedPartial opens each sealed chunk and decodes it, until the
// stream ends.
func readSealedPartial(op *seal.Opener, srv confedv1.TreeAggregator_SubmitPartialServer, dec *partialDecoder) error {
	for {
		msg, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			return op.Finish()
		}
		if err != nil {
			return fmt.Errorf("partial stream ended: %w", err)
		}
		c := msg.GetChunk()
		if c == nil {
			return errors.New("expected a sealed chunk of the partial")
		}
		data, err := op.Open(c.GetSeq(), c.GetCiphertext(), c.GetLast())
		if err != nil {
			return err
		}
		if err := dec.Write(data); err != nil {
			return err
		}
	}
}

// closeRoot waits for the partial of every leaf with included updates,
// checks that together they hold exactly the included updates, and
// publishes their combination as a single aggregator would.
func (s *Server) closeRoot(ctx context.Context, t *confedv1.AggregationTask, rs *roundState, r *treeRound) error {
	if err := s.checkMinUpdates(len(t.GetInclude())); err != nil {
		return err
	}
	want := map[string][]string{}
	for _, l := range t.GetTree().GetLeaves() {
		if len(l.GetInclude()) > 0 {
			want[l.GetName()] = slices.Sorted(slices.Values(l.GetInclude()))
		}
	}
	wctx, cancel := context.WithTimeout(ctx, partialWait)
	defer cancel()
	if err := s.waitPartials(wctx, r, want); err != nil {
		return s.failFirst(ctx, t.GetRound(), err)
	}
	s.tree.mu.Lock()
	contribs, records, err := r.combined(want, t.GetInclude())
	s.tree.mu.Unlock()
	if err != nil {
		return err
	}
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
	s.tree.setRecords(t.GetRound(), records) // for the manifest that publish signs
	return s.finishRound(ctx, rs, func() (strategy.DeltaSource, error) { return s.combine(rs) }, contribs)
}

// errFailReported marks a task error already reported to the coordinator.
var errFailReported = errors.New("already reported to the coordinator")

// failFirst reports a root's failure to the coordinator while the round
// and its key are still held, so that the coordinator records this reason
// rather than those of leaves that, a moment later, would find no round
// open at the root.
func (s *Server) failFirst(ctx context.Context, round uint64, err error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, ferr := s.ctrl.FailRound(rctx, &confedv1.FailRoundRequest{Round: round, Reason: err.Error()}); ferr != nil {
		s.log.Error("reporting failure to the coordinator", logging.KeyErr, ferr)
	}
	return fmt.Errorf("%w (%w)", err, errFailReported)
}

// waitPartials waits until every leaf in want has sent its partial, then
// stops taking partials.
func (s *Server) waitPartials(ctx context.Context, r *treeRound, want map[string][]string) error {
	for {
		s.tree.mu.Lock()
		missing := ""
		for leaf := range want {
			if r.partials[leaf] == nil {
				missing = leaf
				break
			}
		}
		for leaf, busy := range r.receiving {
			if busy && missing == "" {
				missing = leaf // a stream in flight: its partial must finish
			}
		}
		poisoned, ch := r.poisoned, r.changed
		if missing == "" || poisoned != nil {
			r.combining = true
		}
		s.tree.mu.Unlock()
		switch {
		case poisoned != nil:
			return poisoned
		case missing == "":
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the partial aggregate of leaf %q: %w", missing, ctx.Err())
		case <-ch:
		}
	}
}

// combined checks the partials against the coordinator's include lists
// and returns the contributions in include order and the tree records in
// leaf order; the tree's lock is held.
func (r *treeRound) combined(want map[string][]string, include []string) ([]*confedv1.Contribution, []*confedv1.TreeLeafRecord, error) {
	byName := map[string]*confedv1.Contribution{}
	var records []*confedv1.TreeLeafRecord
	for _, l := range r.task.GetLeaves() {
		p := r.partials[l.GetName()]
		if p == nil {
			continue
		}
		if w := want[l.GetName()]; !slices.Equal(p.record.GetParticipants(), w) {
			return nil, nil, fmt.Errorf("the partial of leaf %q holds %v, the coordinator included %v of its shard", l.GetName(), p.record.GetParticipants(), w)
		}
		for _, c := range p.contributions {
			byName[c.GetParticipant()] = c
		}
		records = append(records, p.record)
	}
	out := make([]*confedv1.Contribution, 0, len(include))
	for _, name := range include {
		c, ok := byName[name]
		if !ok {
			return nil, nil, fmt.Errorf("the coordinator included %q, whom no leaf's partial holds", name)
		}
		out = append(out, c)
	}
	if len(out) != len(byName) {
		return nil, nil, fmt.Errorf("the partials hold %d updates, the coordinator included %d", len(byName), len(include))
	}
	return out, records, nil
}

// setRecords keeps the tree records of round r for its manifest.
func (h *treeHolder) setRecords(r uint64, records []*confedv1.TreeLeafRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records, h.recordsRound = records, r
}
