package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/pki"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// operatorService implements confedv1.OperatorServer: read-only views of the
// federation for operators, auditors and members.
type operatorService struct {
	confedv1.UnimplementedOperatorServer
	e *engine
}

var readers = []pki.Role{pki.RoleOperator, pki.RoleParticipant, pki.RoleAggregator, pki.RoleCoordinator}

func (s *operatorService) ListRounds(ctx context.Context, _ *confedv1.ListRoundsRequest) (*confedv1.ListRoundsResponse, error) {
	if _, err := s.e.authorize(ctx, readers...); err != nil {
		return nil, toStatus(err, codes.PermissionDenied)
	}
	resp, err := s.e.listRounds()
	if err != nil {
		return nil, toStatus(err, codes.Internal)
	}
	return resp, nil
}

func (s *operatorService) GetRound(ctx context.Context, req *confedv1.GetRoundRequest) (*confedv1.RoundStatus, error) {
	if _, err := s.e.authorize(ctx, readers...); err != nil {
		return nil, toStatus(err, codes.PermissionDenied)
	}
	st, err := s.e.store.Round(req.GetRound())
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "round %d does not exist", req.GetRound())
	}
	if err != nil {
		return nil, toStatus(err, codes.Internal)
	}
	return st, nil
}

func (s *operatorService) GetLedger(_ *confedv1.LedgerRequest, srv confedv1.Operator_GetLedgerServer) error {
	if _, err := s.e.authorize(srv.Context(), readers...); err != nil {
		return toStatus(err, codes.PermissionDenied)
	}
	entries, err := s.e.store.Ledger()
	if err != nil {
		return toStatus(err, codes.Internal)
	}
	for _, en := range entries {
		if err := srv.Send(&confedv1.LedgerEntry{Index: en.Index, Record: en.Canonical, Sha256: en.SHA256[:]}); err != nil {
			return err
		}
	}
	return nil
}

func (s *operatorService) WatchStatus(_ *confedv1.WatchStatusRequest, srv confedv1.Operator_WatchStatusServer) error {
	ctx := srv.Context()
	if _, err := s.e.authorize(ctx, readers...); err != nil {
		return toStatus(err, codes.PermissionDenied)
	}
	changed, cancel := s.e.subscribe()
	defer cancel()
	for {
		resp, err := s.e.listRounds()
		if err != nil {
			return toStatus(err, codes.Internal)
		}
		if err := srv.Send(resp); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return toStatus(ctx.Err(), codes.Canceled)
		case <-s.e.shutdown:
			return status.Error(codes.Unavailable, errStopping.Error())
		case <-changed:
		}
	}
}

func (s *operatorService) DownloadModel(req *confedv1.DownloadModelRequest, srv confedv1.Operator_DownloadModelServer) error {
	if _, err := s.e.authorize(srv.Context(), readers...); err != nil {
		return toStatus(err, codes.PermissionDenied)
	}
	return sendModel(s.e.store, req, srv.Send)
}

// listRounds reads every round from the store (the round in progress is
// persisted on every change, so the store is current).
func (e *engine) listRounds() (*confedv1.ListRoundsResponse, error) {
	rounds, err := e.store.Rounds()
	if err != nil {
		return nil, err
	}
	sort.Slice(rounds, func(i, j int) bool { return rounds[i].GetRound() < rounds[j].GetRound() })
	e.mu.Lock()
	defer e.mu.Unlock()
	return &confedv1.ListRoundsResponse{
		Rounds: rounds, Federation: e.rc.Federation, PlannedRounds: uint64(e.rc.Rounds), Finished: e.finished,
		FinishReason: e.finishMsg,
	}, nil
}

// authorize admits callers with one of roles; a participant must also be a
// current member of the federation (removing a participant from
// participants.expected revokes its access).
func (e *engine) authorize(ctx context.Context, roles ...pki.Role) (pki.Identity, error) {
	id, err := pki.RequireRole(ctx, roles...)
	if err != nil {
		return id, err
	}
	if id.Role == pki.RoleParticipant && !slices.Contains(e.rc.Participants.Expected, id.Name) {
		return id, fmt.Errorf("%w: participant %q is not a member of federation %q (not in participants.expected)",
			pki.ErrPermissionDenied, id.Name, e.rc.Federation)
	}
	return id, nil
}

func (e *engine) recordParticipant(name, certSHA, version string) error {
	now := e.now()
	p := store.Participant{Name: name, FirstSeen: now, LastSeen: now, CertSHA256: certSHA, SoftwareVersion: version}
	switch old, err := e.store.Participant(name); {
	case err == nil:
		p.FirstSeen = old.FirstSeen
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return e.store.PutParticipant(p)
}
