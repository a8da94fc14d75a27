package aggregator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/submit"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// partialSendTimeout bounds sending a partial to the root, connection and
// attestation included.
const partialSendTimeout = 2 * time.Minute

// closeLeaf waits for the included updates of the leaf's shard to be
// folded, then sends their sum to the root instead of publishing. A leaf
// applies no min_updates: its sum goes, sealed, to an attested root, not
// into a published model (the root checks min_updates over the tree).
func (s *Server) closeLeaf(ctx context.Context, t *confedv1.AggregationTask, rs *roundState, r *treeRound) error {
	rs.mu.Lock()
	rs.closed = true
	rs.mu.Unlock()
	defer s.dropRound("")
	if len(t.GetInclude()) == 0 {
		s.log.Info("no update of this leaf's shard was included; no partial to send", logging.KeyRound, t.GetRound())
		return nil
	}
	contribs, err := rs.foldedContributions(ctx, t.GetInclude())
	if err != nil {
		return err
	}
	rs.releaseStaging(ctx)
	sum, err := takePartial(rs)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, partialSendTimeout)
	defer cancel()
	if err := s.sendPartial(sctx, rs, r, contribs, sum); err != nil {
		return fmt.Errorf("sending the partial aggregate of round %d to the root aggregator %q at %s: %w",
			t.GetRound(), r.task.GetRootName(), r.task.GetRootAddress(), err)
	}
	return nil
}

// takePartial takes the round's sum: the ring sum in fixed-point rounds,
// the float64 sum otherwise.
func takePartial(rs *roundState) (sumVec, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.combined {
		return sumVec{}, fmt.Errorf("round %d was already aggregated", rs.task.GetRound())
	}
	rs.combined = true
	switch {
	case rs.ring != nil:
		raw, n, _ := rs.ring.TakeRaw()
		if n == 0 {
			return sumVec{}, errors.New("no fixed-point update was folded")
		}
		return sumVec{u32: raw}, nil
	case rs.ring64 != nil:
		raw, n, _ := rs.ring64.TakeRaw()
		if n == 0 {
			return sumVec{}, errors.New("no fixed-point update was folded")
		}
		return sumVec{u64: raw}, nil
	}
	sum, _, _, err := rs.acc.TakeSum()
	return sumVec{f64: sum}, err
}

// sendPartial streams the sum to the root over an attested connection on
// which the root's evidence met this aggregator's policy and bound a key
// for the round, sealed to that key.
func (s *Server) sendPartial(ctx context.Context, rs *roundState, r *treeRound, contribs []*confedv1.Contribution, v sumVec) error {
	conn, err := s.dialRoot(rs.task.GetRound(), r.task)
	if err != nil {
		return err
	}
	defer conn.Close()
	sum, size := hashVec(v)
	h := &confedv1.PartialHeader{Round: rs.task.GetRound(), BaseModelSha256: rs.globalSHA[:], Size: uint64(size), PartialSha256: sum[:],
		Kind: v.kind()}
	for _, c := range contribs {
		h.Contributions = append(h.Contributions, &confedv1.PartialContribution{Participant: c.GetParticipant(),
			NumExamples: c.GetNumExamples(), UpdateSha256: c.GetUpdateSha256()})
	}
	up, err := confedv1.NewTreeAggregatorClient(conn).SubmitPartial(ctx)
	if err != nil {
		return fmt.Errorf("opening the partial stream: %w", err)
	}
	leaf := r.task.GetLeafName()
	sealer, err := submit.Sealer(up.Context(), s.federation, rs.task.GetRound(), leaf)
	if err != nil {
		return fmt.Errorf("sealing to the root's round key: %w", err)
	}
	h.SealedStream = sealer.Header()
	if err := up.Send(&confedv1.PartialRequest{Msg: &confedv1.PartialRequest_Header{Header: h}}); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := sendSealedPartial(newVecReader(v), int(s.cfg.ChunkSize), sealer, up); err != nil {
		return err
	}
	resp, err := up.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("the root's answer: %w", err)
	}
	if !resp.GetAccepted() {
		return fmt.Errorf("the root refused the partial: %s", resp.GetReason())
	}
	s.log.Info("partial aggregate sent to the root", logging.KeyRound, rs.task.GetRound(), logging.KeyPeer, r.task.GetRootName(),
		"contributions", len(contribs), logging.KeyBytes, size)
	return nil
}

// sendSealedPartial streams r as sealed chunks (submit.SendSealed, which
// marks the last chunk), as PartialChunk messages.
func sendSealedPartial(r io.Reader, chunk int, sealer *seal.Sealer, up confedv1.TreeAggregator_SubmitPartialClient) error {
	return submit.SendSealed(r, chunk, sealer, func(m *confedv1.SubmitUpdateRequest) error {
		c := m.GetSealedChunk()
		return up.Send(&confedv1.PartialRequest{Msg: &confedv1.PartialRequest_Chunk{Chunk: &confedv1.PartialChunk{
			Seq: c.GetSeq(), Ciphertext: c.GetCiphertext(), Last: c.GetLast()}}})
	})
}

// dialRoot opens the attested connection to the root (submit.Dial): the
// root must hold an aggregator certificate of the tree's root name, present
// evidence that meets this aggregator's policy and bind a round key for
// round; this leaf presents its own evidence for the root to verify.
func (s *Server) dialRoot(round uint64, tt *confedv1.TreeTask) (*grpc.ClientConn, error) {
	host, _, err := net.SplitHostPort(tt.GetRootAddress())
	if err != nil {
		return nil, fmt.Errorf("root address %q: %w", tt.GetRootAddress(), err)
	}
	tlsCfg, err := pki.ClientTLSFor(pki.Files(s.cfg.TLS), host, pki.RoleAggregator)
	if err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	conn, err := submit.Dial{
		Address: tt.GetRootAddress(), TLS: tlsCfg, Federation: s.federation, Round: round,
		Verifier: s.verifier, Issuer: s.issuer, OnHandshake: s.logHandshake, PeerName: tt.GetRootName(),
	}.Connect()
	if err != nil {
		return nil, fmt.Errorf("attested transport: %w", err)
	}
	return conn, nil
}
