package coordinator

import (
	"context"
	"crypto/sha256"
	"unicode/utf8"

	"errors"
	"fmt"

	"google.golang.org/grpc/peer"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/stream"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// federationService implements confedv1.FederationServer.
type federationService struct {
	confedv1.UnimplementedFederationServer
	e *engine
}

func (s *federationService) participant(ctx context.Context) (pki.Identity, error) {
	return s.e.authorize(ctx, pki.RoleParticipant)
}

func (s *federationService) Join(ctx context.Context, req *confedv1.JoinRequest) (*confedv1.JoinResponse, error) {
	id, err := s.participant(ctx)
	if err != nil {
		s.e.log.Warn("join refused", "err", err)
		return nil, toStatus(err, codes.PermissionDenied)
	}
	certSHA := peerCertSHA256(ctx)
	if err := s.e.recordParticipant(id.Name, certSHA, req.GetSoftwareVersion()); err != nil {
		return nil, toStatus(err, codes.Internal)
	}
	return &confedv1.JoinResponse{
		Federation: s.e.rc.Federation, Participant: id.Name,
		Rounds: uint64(s.e.rc.Rounds), ConfigSha256: s.e.cfgSHA[:],
	}, nil
}

// maxReportReason bounds a participant's free-text reason.
const maxReportReason = 2048

func (s *federationService) ReportProblem(ctx context.Context, req *confedv1.ProblemReport) (*confedv1.ProblemReportResponse, error) {
	id, err := s.participant(ctx)
	if err != nil {
		return nil, toStatus(err, codes.PermissionDenied)
	}
	if len(req.GetReason()) > maxReportReason || len(req.GetKind()) > 64 || !utf8.ValidString(req.GetReason()) {
		return nil, status.Errorf(codes.InvalidArgument, "report kind at most 64 bytes and reason at most %d bytes of UTF-8", maxReportReason)
	}
	if err := s.e.reportProblem(id.Name, req); err != nil {
		return nil, toStatus(err, codes.FailedPrecondition)
	}
	return &confedv1.ProblemReportResponse{}, nil
}

func (s *federationService) WatchTasks(_ *confedv1.WatchTasksRequest, srv confedv1.Federation_WatchTasksServer) error {
	ctx := srv.Context()
	id, err := s.participant(ctx)
	if err != nil {
		return toStatus(err, codes.PermissionDenied)
	}
	sess := s.e.attachParticipant(id.Name, peerCertDER(ctx))
	defer s.e.detachParticipant(sess)
	return pump(ctx, s.e.shutdown, sess.tasks, sess.kick,
		status.Error(codes.Aborted, "another session of this participant replaced this one, or it fell behind"), srv.Send)
}

func (s *federationService) DownloadModel(req *confedv1.DownloadModelRequest, srv confedv1.Federation_DownloadModelServer) error {
	ctx := srv.Context()
	if _, err := s.e.authorize(ctx, pki.RoleParticipant, pki.RoleAggregator); err != nil {
		return toStatus(err, codes.PermissionDenied)
	}
	return sendModel(s.e.store, req, srv.Send)
}

// sendModel streams a published model: its header, then its chunks.
func sendModel(st *store.Store, req *confedv1.DownloadModelRequest, send func(*confedv1.ModelChunk) error) error {
	r := req.GetRound()
	if req.Round == nil {
		latest, ok, err := st.LatestModelRound()
		if err != nil {
			return toStatus(err, codes.Internal)
		}
		if !ok {
			return status.Error(codes.NotFound, "no model has been published yet")
		}
		r = latest
	}
	chunk := int(req.GetChunkSize())
	if chunk == 0 {
		chunk = stream.DefaultChunkSize
	}
	if chunk > stream.MaxChunkSize {
		return status.Errorf(codes.InvalidArgument, "chunk_size %d exceeds the maximum %d", chunk, stream.MaxChunkSize)
	}
	mr, err := st.OpenModel(r)
	if errors.Is(err, store.ErrNotFound) {
		return status.Errorf(codes.NotFound, "round %d has no published model", r)
	}
	if err != nil {
		return toStatus(fmt.Errorf("opening model of round %d: %w", r, err), codes.Internal)
	}
	header := &confedv1.ModelHeader{Signed: mr.Signed(), Size: mr.Size(), ChunkSize: uint32(chunk)}
	if err := send(&confedv1.ModelChunk{Msg: &confedv1.ModelChunk_Header{Header: header}}); err != nil {
		return err
	}
	_, err = stream.Send(mr, chunk, func(c *confedv1.Chunk) error {
		return send(&confedv1.ModelChunk{Msg: &confedv1.ModelChunk_Chunk{Chunk: c}})
	})
	return err
}

// peerCertSHA256 is the hex SHA-256 of the peer's leaf certificate, or "".
func peerCertSHA256(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	info, ok := pki.TLSInfoOf(p.AuthInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(info.State.PeerCertificates[0].Raw)
	return hexs(sum[:])
}
