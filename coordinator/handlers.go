package coordinator

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/manifest"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// toStatus maps an error to a gRPC status at the handler boundary.
func toStatus(err error, code codes.Code) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, pki.ErrUnauthenticated):
		code = codes.Unauthenticated
	case errors.Is(err, pki.ErrPermissionDenied):
		code = codes.PermissionDenied
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

// controlService implements confedv1.AggregatorControlServer.
type controlService struct {
	confedv1.UnimplementedAggregatorControlServer
	e *engine
}

func (s *controlService) session(ctx context.Context) (*aggSession, error) {
	id, err := pki.RequireRole(ctx, pki.RoleAggregator)
	if err != nil {
		return nil, err
	}
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	sess := s.e.aggSessionNamed(id.Name)
	if sess == nil {
		return nil, fmt.Errorf("%w: aggregator %q has no open WatchRounds session", pki.ErrPermissionDenied, id.Name)
	}
	return sess, nil
}

func (s *controlService) WatchRounds(req *confedv1.WatchRoundsRequest, srv confedv1.AggregatorControl_WatchRoundsServer) error {
	ctx := srv.Context()
	id, err := pki.RequireRole(ctx, pki.RoleAggregator)
	if err != nil {
		return toStatus(err, codes.PermissionDenied)
	}
	pub := ed25519.PublicKey(req.GetSignerPublicKey())
	ev := tee.Evidence{Kind: req.GetEvidence().GetKind(), Raw: req.GetEvidence().GetRaw()}
	claims, err := s.e.verifier.Verify(ctx, ev, manifest.SigningKeyReportData(s.e.rc.Federation, pub))
	if err != nil {
		s.e.log.Warn("aggregator refused", logging.KeyPeer, id.Name, logging.KeyReason, err)
		s.e.aggregatorRefused(id.Name, err)
		return toStatus(fmt.Errorf("verifying evidence of aggregator %q: %w", id.Name, err), codes.PermissionDenied)
	}
	sess, err := s.e.attachAggregator(id.Name, pub, claims)
	if err != nil {
		return toStatus(err, codes.AlreadyExists)
	}
	defer s.e.detachAggregator(sess)
	return pump(ctx, s.e.shutdown, sess.tasks, sess.kick,
		status.Error(codes.ResourceExhausted, "aggregator fell too far behind its task queue"), srv.Send)
}

func (s *controlService) RoundReady(ctx context.Context, req *confedv1.RoundReadyRequest) (*confedv1.RoundReadyResponse, error) {
	sess, err := s.session(ctx)
	if err != nil {
		return nil, toStatus(err, codes.PermissionDenied)
	}
	if err := s.e.roundReady(sess, req.GetRound()); err != nil {
		return nil, toStatus(err, codes.FailedPrecondition)
	}
	return &confedv1.RoundReadyResponse{}, nil
}

func (s *controlService) AdmitSubmission(ctx context.Context, req *confedv1.AdmitRequest) (*confedv1.AdmitResponse, error) {
	sess, err := s.session(ctx)
	if err != nil {
		return nil, toStatus(err, codes.PermissionDenied)
	}
	if err := s.e.checkShard(sess, req.GetParticipant()); err != nil {
		return &confedv1.AdmitResponse{Reason: err.Error()}, nil
	}
	d := s.e.admit(req.GetRound(), req.GetParticipant())
	return &confedv1.AdmitResponse{Admitted: d.OK, Reason: d.Reason}, nil
}

func (s *controlService) ReportSubmission(ctx context.Context, req *confedv1.SubmissionResult) (*confedv1.SubmissionAck, error) {
	sess, err := s.session(ctx)
	if err != nil {
		return nil, toStatus(err, codes.PermissionDenied)
	}
	if err := s.e.checkShard(sess, req.GetParticipant()); err != nil {
		return &confedv1.SubmissionAck{Reason: err.Error()}, nil
	}
	d := s.e.complete(req)
	return &confedv1.SubmissionAck{Include: d.OK, Reason: d.Reason}, nil
}

func (s *controlService) FailRound(ctx context.Context, req *confedv1.FailRoundRequest) (*confedv1.FailRoundResponse, error) {
	sess, err := s.session(ctx)
	if err != nil {
		return nil, toStatus(err, codes.PermissionDenied)
	}
	if err := s.e.aggregatorFailed(sess, req.GetRound(), req.GetReason()); err != nil {
		return nil, toStatus(err, codes.FailedPrecondition)
	}
	return &confedv1.FailRoundResponse{}, nil
}

func (s *controlService) PublishAggregate(srv confedv1.AggregatorControl_PublishAggregateServer) error {
	ctx := srv.Context()
	sess, err := s.session(ctx)
	if err != nil {
		return toStatus(err, codes.PermissionDenied)
	}
	first, err := srv.Recv()
	if err != nil {
		return toStatus(fmt.Errorf("receiving publish header: %w", err), codes.InvalidArgument)
	}
	job, err := s.e.beginPublish(ctx, sess, first.GetHeader())
	if err != nil {
		s.e.log.Warn("aggregate refused", logging.KeyReason, err)
		return toStatus(fmt.Errorf("refusing aggregate: %w", err), codes.FailedPrecondition)
	}
	recv := func() (*confedv1.PublishRequest, error) {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			return nil, errEndOfStream
		}
		return req, err
	}
	resp, err := s.e.receiveModel(job, recv)
	if err != nil {
		s.e.log.Warn("aggregate refused", logging.KeyRound, job.round, logging.KeyReason, err)
		return toStatus(fmt.Errorf("refusing aggregate of round %d: %w", job.round, err), codes.InvalidArgument)
	}
	return srv.SendAndClose(resp)
}
