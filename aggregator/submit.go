package aggregator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/seal/sealwire"
	"github.com/confed/confed/internal/submit"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// maxExamples bounds the example count a participant may claim for one update.
const maxExamples = 1 << 40

// SubmitUpdate receives one participant's update stream. The update is
// validated into a staging buffer as it arrives, reported to the
// coordinator, and folded into the round's sum only if the coordinator
// includes it.
func (s *Server) SubmitUpdate(srv confedv1.Aggregator_SubmitUpdateServer) error {
	ctx := srv.Context()
	id, err := pki.RequireRole(ctx, pki.RoleParticipant)
	if err != nil {
		return status.Error(codes.PermissionDenied, err.Error())
	}
	first, err := s.recvHeader(srv)
	if errors.Is(err, errStreamIdle) {
		s.log.Warn("update refused", logging.KeyParticipant, id.Name, logging.KeyReason, err)
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "receiving update header: %v", err)
	}
	h := first.GetHeader()
	rs, err := s.checkMember(id.Name, h)
	if err != nil {
		s.metrics.refuseErr(err)
		s.log.Warn("update refused", logging.KeyParticipant, id.Name, logging.KeyReason, err)
		return status.Error(codes.PermissionDenied, err.Error())
	}
	if err := checkAttested(ctx, rs, id.Name); err != nil {
		s.metrics.refuse("not_attested")
		s.log.Warn("update refused", logging.KeyParticipant, id.Name, logging.KeyReason, err)
		return status.Error(codes.PermissionDenied, err.Error())
	}
	rs, err = s.checkHeader(rs, h)
	if err != nil {
		s.metrics.refuseErr(err)
		s.log.Warn("update refused", logging.KeyParticipant, id.Name, logging.KeyReason, err)
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	adm, err := s.ctrl.AdmitSubmission(ctx, &confedv1.AdmitRequest{Round: h.GetRound(), Participant: id.Name, NumExamples: h.GetNumExamples()})
	if err != nil {
		s.metrics.refuse("coordinator_unavailable")
		return status.Errorf(codes.Unavailable, "asking the coordinator to admit the update: %v", err)
	}
	if !adm.GetAdmitted() {
		s.metrics.refuse("not_admitted")
		return status.Error(codes.FailedPrecondition, adm.GetReason())
	}
	streamDone := s.metrics.streamStarted()
	resp := s.receive(ctx, rs, id.Name, h, srv)
	streamDone(resp.GetAccepted())
	if !resp.GetAccepted() {
		s.log.Warn("update refused", logging.KeyRound, h.GetRound(), logging.KeyParticipant, id.Name, logging.KeyReason, resp.GetReason())
	}
	return srv.SendAndClose(resp)
}

// checkMember refuses participants that are not expected in the round,
// before anything about the round is revealed to them.
func (s *Server) checkMember(name string, h *confedv1.UpdateHeader) (*roundState, error) {
	if h == nil {
		return nil, errors.New("update stream must start with a header")
	}
	rs, err := s.round(h.GetRound())
	if err != nil {
		return nil, fmt.Errorf("no round %d is collecting here", h.GetRound())
	}
	if !slices.Contains(rs.task.GetExpectedParticipants(), name) {
		return nil, fmt.Errorf("participant %q is not expected in this federation's rounds", name)
	}
	return rs, nil
}

// checkAttested enforces the round's participant policy: the connection
// must carry evidence that meets it. The evidence was verified at the
// handshake; it is checked again against this round's policy in case the
// connection predates the round.
func checkAttested(ctx context.Context, rs *roundState, name string) error {
	if rs.participants == nil {
		return nil
	}
	ai, ok := atls.AuthInfoFromContext(ctx)
	if !ok || !ai.Attested() {
		return fmt.Errorf("round %d requires participants to attest, and %q presented no TEE evidence", rs.task.GetRound(), name)
	}
	if _, err := rs.participants.Verify(ctx, ai.Evidence, ai.PeerClaims.ReportData); err != nil {
		return fmt.Errorf("evidence of %q does not meet round %d's participant policy: %w", name, rs.task.GetRound(), err)
	}
	return nil
}

// checkHeader checks what can be checked before any data is read.
func (s *Server) checkHeader(rs *roundState, h *confedv1.UpdateHeader) (*roundState, error) {
	rs.mu.Lock()
	closed := rs.closed
	rs.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("round %d is no longer collecting", h.GetRound())
	}
	if !bytes.Equal(h.GetBaseModelSha256(), rs.globalSHA[:]) {
		return nil, fmt.Errorf("update was trained from model %x, round %d starts from %x", h.GetBaseModelSha256(), h.GetRound(), rs.globalSHA[:])
	}
	if want := uint64(model.SafetensorsSizeOf(rs.spec, rs.updateDtype())); h.GetSize() != want {
		return nil, fmt.Errorf("%s: update declares %d bytes, a model of this shape has %d", fedavg.ReasonSizeMismatch, h.GetSize(), want)
	}
	if rs.secagg != nil {
		return nil, fmt.Errorf("%s: round %d runs secure aggregation: updates must be masked (SecureAggregator.SecAgg)", fedavg.ReasonBadStream, h.GetRound())
	}
	if len(h.GetSealedStream()) == 0 {
		return nil, fmt.Errorf("%s: the update is not sealed to the round's attested key", fedavg.ReasonBadStream)
	}
	if n := h.GetNumExamples(); n == 0 || n > maxExamples {
		return nil, fmt.Errorf("%s: num_examples %d out of range 1..%d", fedavg.ReasonBadWeight, n, uint64(maxExamples))
	}
	return rs, nil
}

// receive ingests the stream, reports the outcome to the coordinator and
// folds the update if the coordinator includes it.
func (s *Server) receive(ctx context.Context, rs *roundState, name string, h *confedv1.UpdateHeader, srv confedv1.Aggregator_SubmitUpdateServer) *confedv1.SubmitUpdateResponse {
	if rs.ring != nil || rs.ring64 != nil {
		return s.receiveFixedPoint(ctx, rs, name, h, srv)
	}
	buf, err := rs.pool.Get(ctx)
	if err != nil {
		return s.report(rs, name, h, nil, fmt.Errorf("waiting for a staging buffer: %w", err))
	}
	release := func() { _ = rs.pool.Put(buf) }
	if err := grantStaging(srv); err != nil {
		release()
		return s.report(rs, name, h, nil, err)
	}
	limits := fedavg.Limits{MaxBytes: int64(rs.task.GetParams().GetMaxUpdateBytes()), MaxNorm: rs.task.GetParams().GetMaxUpdateNorm()}
	in, err := fedavg.NewIngestor(rs.spec, buf, int64(h.GetSize()), h.GetUpdateSha256(), limits)
	if err == nil {
		err = s.openStream(rs, name, h, srv, in.Write)
	}
	var staged *fedavg.Staged
	if err == nil {
		staged, err = in.Finish()
	}
	if err != nil {
		release()
		return s.report(rs, name, h, nil, err)
	}
	return s.report(rs, name, h, &outcome{sha: staged.SHA256, bytes: staged.Bytes, norm: staged.Norm,
		fold:    func(c *confedv1.Contribution) error { return rs.fold(c, staged.Values) },
		release: release}, nil)
}

// grantStaging tells the participant that a staging buffer waits for its
// update: until then it sends nothing after the header (submit.StagingReady).
func grantStaging(srv confedv1.Aggregator_SubmitUpdateServer) error {
	if err := submit.GrantStaging(srv); err != nil {
		return fmt.Errorf("telling the participant to send: %w", err)
	}
	return nil
}

// openStream reads the sealed chunks of an update, opens each with the
// round key and hands the plaintext to write, refusing anything out of
// order, tampered, unsealed, or longer than the header declares. Receiving
// and decrypting run on their own goroutine, so that decryption overlaps
// with write's hashing, decoding and validation of the previous chunk.
func (s *Server) openStream(rs *roundState, name string, h *confedv1.UpdateHeader, srv confedv1.Aggregator_SubmitUpdateServer, write func([]byte) error) error {
	op, err := seal.NewOpener(rs.key, h.GetSealedStream(), seal.Context{
		Federation: s.federation, Round: rs.task.GetRound(),
		AggregatorMeasurement: s.claims.Measurement, Participant: name,
	})
	if err != nil {
		return fmt.Errorf("%s: sealed stream: %w", fedavg.ReasonBadStream, err)
	}
	// Chunks are received and opened in place in streamBuffers reused
	// buffers; write hands each back (free) when it is done with it.
	free := make(chan *sealwire.Incoming, streamBuffers)
	for range streamBuffers {
		free <- getIncoming()
	}
	plain := make(chan plainChunk, streamBuffers-1)
	done := make(chan struct{})
	var recvErr error
	go func() {
		defer close(plain)
		recvErr = receivePlain(op, h, srv, plain, free, done)
	}()
	// A sender that stalls, or trickles for longer than stream_timeout,
	// loses its staging buffer: the deadlines bound how long one stream
	// can hold it.
	idle := time.NewTimer(s.cfg.StreamIdleTimeout.Std())
	defer idle.Stop()
	whole := time.NewTimer(s.cfg.StreamTimeout.Std())
	defer whole.Stop()
	for {
		var err error
		select {
		case c, ok := <-plain:
			if !ok {
				// The receiver has returned and write holds nothing: the
				// buffers in free are no one's, and can serve the next
				// stream. (When write refuses, below, they are left to the
				// collector: the receiver may still be receiving into one.)
				for range len(free) {
					putIncoming(<-free)
				}
				return recvErr
			}
			err = write(c.data)
			free <- c.buf // never blocks: free has room for every buffer
			idle.Reset(s.cfg.StreamIdleTimeout.Std())
		case <-idle.C:
			err = fmt.Errorf("%w: no chunk within %s (stream_idle_timeout)", errStreamIdle, s.cfg.StreamIdleTimeout)
		case <-whole.C:
			err = fmt.Errorf("%w: the stream took longer than %s (stream_timeout)", errStreamIdle, s.cfg.StreamTimeout)
		}
		if err != nil {
			// Stop the receiver; it ends when the handler returns and gRPC
			// cancels the stream, if it is blocked receiving.
			close(done)
			return err
		}
	}
}

// errStreamIdle marks a stream refused by stream_idle_timeout or
// stream_timeout.
var errStreamIdle = errors.New("stream_timeout")

// recvHeader receives the first message of an update stream, waiting at
// most stream_idle_timeout for it.
func (s *Server) recvHeader(srv confedv1.Aggregator_SubmitUpdateServer) (*confedv1.SubmitUpdateRequest, error) {
	type recv struct {
		msg *confedv1.SubmitUpdateRequest
		err error
	}
	got := make(chan recv, 1)
	go func() {
		// Ends when the handler returns: gRPC then cancels the stream.
		msg, err := srv.Recv()
		got <- recv{msg, err}
	}()
	t := time.NewTimer(s.cfg.StreamIdleTimeout.Std())
	defer t.Stop()
	select {
	case r := <-got:
		return r.msg, r.err
	case <-t.C:
		return nil, fmt.Errorf("%w: no update header within %s (stream_idle_timeout)", errStreamIdle, s.cfg.StreamIdleTimeout)
	}
}

// streamBuffers is how many receive buffers (of one sealed chunk each) a
// stream uses: one being received and opened, one being written, one
// queued between them.
const streamBuffers = 3

// incomings keeps the receive buffers of finished streams for the next
// ones: enough for two streams at a time (max_concurrent_updates' default),
// 6 MiB with 1 MiB chunks. A sync.Pool would drop them at every collection.
var incomings = make(chan *sealwire.Incoming, 2*streamBuffers)

// getIncoming returns a kept receive buffer, or a new one.
func getIncoming() *sealwire.Incoming {
	select {
	case in := <-incomings:
		return in
	default:
		return sealwire.NewIncoming()
	}
}

// putIncoming keeps in for another stream, unless enough are kept. It is
// wiped first: it holds the end of an update, in clear.
func putIncoming(in *sealwire.Incoming) {
	in.Wipe()
	select {
	case incomings <- in:
	default:
	}
}

// plainChunk is an opened chunk and the receive buffer it lives in.
type plainChunk struct {
	data []byte
	buf  *sealwire.Incoming
}

// receivePlain receives sealed chunks into buffers taken from free, opens
// each in place and sends it to out, until the stream ends, a chunk is
// refused, or done is closed.
func receivePlain(op *seal.Opener, h *confedv1.UpdateHeader, srv confedv1.Aggregator_SubmitUpdateServer, out chan<- plainChunk, free chan *sealwire.Incoming, done <-chan struct{}) error {
	var total int64
	for {
		var in *sealwire.Incoming
		select {
		case in = <-free:
		case <-done:
			return nil
		}
		err := srv.RecvMsg(in)
		if err != nil {
			free <- in // never blocks: free has room for every buffer
		}
		if errors.Is(err, io.EOF) {
			if err := op.Finish(); err != nil {
				return fmt.Errorf("%s: %w", fedavg.ReasonBadStream, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("stream ended: %w", err)
		}
		c := in.GetSealedChunk()
		if c == nil {
			return fmt.Errorf("%s: expected a sealed chunk; plaintext update data is refused", fedavg.ReasonBadStream)
		}
		ct := c.GetCiphertext()
		data, err := op.OpenTo(ct[:0], c.GetSeq(), ct, c.GetLast())
		if err != nil {
			return fmt.Errorf("%s: %w", fedavg.ReasonBadStream, err)
		}
		if total += int64(len(data)); total > int64(h.GetSize()) {
			return fmt.Errorf("%s: stream exceeds the %d bytes its header declares", fedavg.ReasonSizeMismatch, h.GetSize())
		}
		select {
		case out <- plainChunk{data, in}:
		case <-done:
			return nil
		}
	}
}

// outcome is a validated update: what the coordinator is told, how to
// fold it once included, and how to free its staging buffer afterwards.
type outcome struct {
	sha     [32]byte
	bytes   int64
	norm    float64
	fold    func(*confedv1.Contribution) error
	release func()
}

// report tells the coordinator the outcome (out is nil when the update was
// refused with ingestErr); the coordinator's answer is the commit point for
// folding. report owns out: it releases its staging buffer at once when the
// update is not included, or after folding it when it is. The fold runs on
// its own goroutine, so that the participant's answer, and the next
// update's stream, do not wait for it; closing the round waits for every
// included update's fold (waitFolded), and a fold that fails fails the
// round rather than publishing an aggregate without an included update.
func (s *Server) report(rs *roundState, name string, h *confedv1.UpdateHeader, out *outcome, ingestErr error) *confedv1.SubmitUpdateResponse {
	res := &confedv1.SubmissionResult{Round: h.GetRound(), Participant: name, NumExamples: h.GetNumExamples(), Metrics: h.GetMetrics()}
	if ingestErr != nil {
		res.Reason = ingestErr.Error()
	} else {
		res.Accepted = true
		// A copy: the contribution made from res outlives the round's
		// folds, and a slice of out.sha would keep out, its fold closure and
		// the staging buffer it holds alive until the round is dropped.
		res.UpdateSha256 = slices.Clone(out.sha[:])
		res.Bytes = uint64(out.bytes)
		res.UpdateNorm = out.norm
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := s.ctrl.ReportSubmission(ctx, res)
	if out != nil && (err != nil || !ack.GetInclude()) {
		out.release()
	}
	if err != nil {
		s.metrics.refuse("coordinator_unavailable")
		return &confedv1.SubmitUpdateResponse{Reason: fmt.Sprintf("the coordinator could not be told of the update: %v", err)}
	}
	if !res.GetAccepted() {
		s.metrics.refuseErr(ingestErr)
		return &confedv1.SubmitUpdateResponse{Reason: res.GetReason()}
	}
	if !ack.GetInclude() {
		s.metrics.refuse("not_included")
		return &confedv1.SubmitUpdateResponse{Reason: ack.GetReason(), UpdateSha256: res.GetUpdateSha256()}
	}
	c := &confedv1.Contribution{Participant: name, NumExamples: h.GetNumExamples(), UpdateSha256: res.GetUpdateSha256()}
	go s.foldIncluded(rs, c, out)
	s.metrics.accept(name)
	return &confedv1.SubmitUpdateResponse{Accepted: true, UpdateSha256: res.GetUpdateSha256()}
}

// foldIncluded folds an included update into the round's sum and frees its
// staging buffer. A failure is recorded in the round, whose close then
// fails with it: the coordinator has included the update, so an aggregate
// without it must not be published.
func (s *Server) foldIncluded(rs *roundState, c *confedv1.Contribution, out *outcome) {
	defer out.release()
	if err := out.fold(c); err != nil {
		s.log.Error("folding an included update", logging.KeyRound, rs.task.GetRound(), logging.KeyParticipant, c.GetParticipant(), logging.KeyErr, err)
		s.metrics.refuse("fold_failed")
		rs.foldFailed(c.GetParticipant(), err)
		return
	}
	s.log.Info("update folded", logging.KeyRound, rs.task.GetRound(), logging.KeyParticipant, c.GetParticipant(), "num_examples", c.GetNumExamples())
}
