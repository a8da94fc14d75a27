package aggregator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/secagg"
	"github.com/confed/confed/internal/stream"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// secAggService serves confedv1.SecureAggregatorServer: participants' SecAgg+
// streams, over the same attested transport as SubmitUpdate.
type secAggService struct {
	confedv1.UnimplementedSecureAggregatorServer
	s *Server
}

// frameOrErr is one received frame, or the error that ended the stream.
type frameOrErr struct {
	f   *confedv1.SecAggClientFrame
	err error
}

// SecAgg runs one participant's side of the round's session: its signed
// messages go to the round's secagg.Server, the server's messages of each
// stage come back, and its masked input is admitted, staged, reported and
// committed as the coordinator decides. The stream ending makes the
// participant a dropout.
func (a *secAggService) SecAgg(srv confedv1.SecureAggregator_SecAggServer) error {
	s := a.s
	ctx := srv.Context()
	who, err := pki.RequireRole(ctx, pki.RoleParticipant)
	if err != nil {
		return status.Error(codes.PermissionDenied, err.Error())
	}
	frames := make(chan frameOrErr)
	go recvFrames(ctx, srv, frames)
	first, err := nextFrame(frames, s.cfg.StreamIdleTimeout.Std())
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "receiving the first secure aggregation message: %v", err)
	}
	rs, sa, id, err := s.secAggMember(ctx, who.Name, first.GetRound())
	if err != nil {
		s.log.Warn("secure aggregation stream refused", logging.KeyParticipant, who.Name, logging.KeyReason, err)
		return status.Error(codes.PermissionDenied, err.Error())
	}
	out, err := sa.attach(id)
	if err != nil {
		return status.Error(codes.AlreadyExists, err.Error())
	}
	defer sa.detach(id)
	p := &secAggPeer{s: s, rs: rs, sa: sa, id: id, name: who.Name, frames: frames, srv: srv}
	err = p.serve(ctx, first, out)
	if err != nil {
		s.log.Warn("secure aggregation stream ended", logging.KeyRound, sa.round, logging.KeyParticipant, who.Name, logging.KeyReason, err)
		if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
			return err
		}
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return nil
}

// secAggMember finds round r's session and participant name's id in its
// roster, and enforces the round's participant attestation policy.
func (s *Server) secAggMember(ctx context.Context, name string, r uint64) (*roundState, *secAggRound, uint32, error) {
	rs, err := s.round(r)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("no round %d is collecting here", r)
	}
	if rs.secagg == nil {
		return nil, nil, 0, fmt.Errorf("round %d does not run secure aggregation", r)
	}
	id := rs.secagg.cfg.IndexOf(name)
	if id < 0 {
		return nil, nil, 0, fmt.Errorf("participant %q is not in the secure aggregation roster of round %d", name, r)
	}
	if err := checkAttested(ctx, rs, name); err != nil {
		return nil, nil, 0, err
	}
	return rs, rs.secagg, uint32(id), nil
}

// recvFrames receives frames until the stream ends or ctx does.
func recvFrames(ctx context.Context, srv confedv1.SecureAggregator_SecAggServer, out chan<- frameOrErr) {
	for {
		f, err := srv.Recv()
		select {
		case out <- frameOrErr{f, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// nextFrame waits at most idle for the next frame.
func nextFrame(frames <-chan frameOrErr, idle time.Duration) (*confedv1.SecAggClientFrame, error) {
	t := time.NewTimer(idle)
	defer t.Stop()
	select {
	case fe := <-frames:
		return fe.f, fe.err
	case <-t.C:
		return nil, fmt.Errorf("%w: no message within %s (stream_idle_timeout)", errStreamIdle, idle)
	}
}

// secAggPeer is one participant's stream in a session.
type secAggPeer struct {
	s      *Server
	rs     *roundState
	sa     *secAggRound
	id     uint32
	name   string
	frames <-chan frameOrErr
	srv    confedv1.SecureAggregator_SecAggServer
}

// serve handles frames and forwards the server's messages until the
// participant closes its side (nil), the session ends, or a message is
// refused.
func (p *secAggPeer) serve(ctx context.Context, first *confedv1.SecAggClientFrame, out <-chan []byte) error {
	if err := p.handle(ctx, first); err != nil {
		return err
	}
	for {
		select {
		case msg := <-out:
			if err := p.srv.Send(&confedv1.SecAggServerFrame{ServerMessage: msg}); err != nil {
				return err
			}
		case fe := <-p.frames:
			if errors.Is(fe.err, io.EOF) {
				return nil
			}
			if fe.err != nil {
				return fe.err
			}
			if err := p.handle(ctx, fe.f); err != nil {
				return err
			}
		case <-p.sa.done:
			return p.ended(out)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ended delivers what is left for the participant once the session is
// over and says how it ended.
func (p *secAggPeer) ended(out <-chan []byte) error {
	for {
		select {
		case msg := <-out:
			if err := p.srv.Send(&confedv1.SecAggServerFrame{ServerMessage: msg}); err != nil {
				return err
			}
		default:
			p.sa.mu.Lock()
			err := p.sa.err
			p.sa.mu.Unlock()
			if err != nil {
				return status.Error(codes.Aborted, secAggReason(err))
			}
			return nil
		}
	}
}

// handle takes one frame: a signed message of the current stage, or the
// header of the masked input (whose chunks follow).
func (p *secAggPeer) handle(ctx context.Context, f *confedv1.SecAggClientFrame) error {
	if f.GetRound() != p.sa.round {
		return status.Errorf(codes.InvalidArgument, "message for round %d on the stream of round %d", f.GetRound(), p.sa.round)
	}
	msg := f.GetSigned()
	if msg == nil {
		return status.Error(codes.InvalidArgument, "expected a signed secure aggregation message")
	}
	_, body, err := secagg.DecodeSigned(msg)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if body.GetSender() != p.id {
		return status.Errorf(codes.PermissionDenied, "message signed as participant %d on the stream of %s (%d)", body.GetSender(), p.name, p.id)
	}
	if body.GetStage() == secagg.StageMaskedInput {
		return p.input(ctx, f)
	}
	if err := p.sa.receive(msg); err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return nil
}

// input takes the masked input: the signed header, then the vector in
// chunks. The coordinator admits it (AdmitSubmission, 0 examples: the
// weight is masked in the vector), the vector is staged and checked
// against the signed hash, the outcome is reported (ReportSubmission), and
// only an included input is added to the sum.
func (p *secAggPeer) input(ctx context.Context, f *confedv1.SecAggClientFrame) error {
	s, rs := p.s, p.rs
	if !bytes.Equal(f.GetBaseModelSha256(), rs.globalSHA[:]) {
		return status.Errorf(codes.FailedPrecondition, "update was trained from model %x, round %d starts from %x", f.GetBaseModelSha256(), p.sa.round, rs.globalSHA[:])
	}
	pending, err := p.sa.begin(f.GetSigned())
	if err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	adm, err := s.ctrl.AdmitSubmission(ctx, &confedv1.AdmitRequest{Round: p.sa.round, Participant: p.name})
	if err != nil {
		return status.Errorf(codes.Unavailable, "asking the coordinator to admit the masked input: %v", err)
	}
	if !adm.GetAdmitted() {
		return status.Error(codes.FailedPrecondition, adm.GetReason())
	}
	buf, err := p.sa.pool.Get(ctx)
	if err != nil {
		return p.report(pending, f, fmt.Errorf("waiting for a staging buffer: %w", err))
	}
	defer func() { _ = p.sa.pool.Put(buf) }()
	r := &chunkReader{frames: p.frames, round: p.sa.round, left: 4 * int64(p.sa.cfg.Length+1), idle: s.cfg.StreamIdleTimeout.Std()}
	if err := p.report(pending, f, pending.Read(r, buf)); err != nil {
		return err
	}
	if err := p.sa.commit(pending); err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	rs.mu.Lock()
	rs.markFolded(&confedv1.Contribution{Participant: p.name, UpdateSha256: pending.SHA256()})
	rs.mu.Unlock()
	s.metrics.accept(p.name)
	s.log.Info("masked input added", logging.KeyRound, p.sa.round, logging.KeyParticipant, p.name)
	return nil
}

// report tells the coordinator whether the masked input was staged
// (readErr nil) and returns nil only if the coordinator includes it.
func (p *secAggPeer) report(pending *secagg.Pending, f *confedv1.SecAggClientFrame, readErr error) error {
	metrics := maps.Clone(f.GetMetrics())
	delete(metrics, "num_examples") // the weight is masked; never report it in clear
	res := &confedv1.SubmissionResult{Round: p.sa.round, Participant: p.name, Metrics: metrics}
	if readErr != nil {
		res.Reason = readErr.Error()
	} else {
		res.Accepted = true
		res.UpdateSha256 = pending.SHA256()
		res.Bytes = 4 * uint64(p.sa.cfg.Length+1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := p.s.ctrl.ReportSubmission(ctx, res)
	switch {
	case readErr != nil:
		p.s.metrics.refuseErr(readErr)
		return status.Error(codes.InvalidArgument, readErr.Error())
	case err != nil:
		p.s.metrics.refuse("coordinator_unavailable")
		return status.Errorf(codes.Unavailable, "the coordinator could not be told of the masked input: %v", err)
	case !ack.GetInclude():
		p.s.metrics.refuse("not_included")
		return status.Errorf(codes.FailedPrecondition, "masked input not included: %s", ack.GetReason())
	}
	return nil
}

// chunkReader reads the masked vector from the stream's chunk frames:
// consecutive sequence numbers from 0, each chunk non-empty and at most
// stream.MaxChunkSize, no more bytes than the vector has (it ends there,
// without waiting for another frame).
type chunkReader struct {
	frames <-chan frameOrErr
	round  uint64
	seq    uint64
	left   int64
	buf    []byte
	idle   time.Duration
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.left == 0 {
			return 0, io.EOF
		}
		f, err := nextFrame(c.frames, c.idle)
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("the stream ended %d bytes before the end of the masked vector: %w", c.left, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return 0, err
		}
		ch := f.GetMaskedChunk()
		switch n := int64(len(ch.GetData())); {
		case f.GetRound() != c.round:
			return 0, fmt.Errorf("chunk for round %d on the stream of round %d", f.GetRound(), c.round)
		case ch == nil:
			return 0, errors.New("expected a masked-input chunk")
		case ch.GetSeq() != c.seq:
			return 0, fmt.Errorf("chunk %d, want %d", ch.GetSeq(), c.seq)
		case n == 0 || n > stream.MaxChunkSize:
			return 0, fmt.Errorf("chunk %d of %d bytes, want 1 to %d", c.seq, n, stream.MaxChunkSize)
		case n > c.left:
			return 0, fmt.Errorf("chunk %d runs %d bytes past the end of the masked vector", c.seq, n-c.left)
		}
		c.seq++
		c.left -= int64(len(ch.GetData()))
		c.buf = ch.GetData()
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}
