package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/pki"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

const accessRounds = `federation: e2e
rounds: 1
model:
  kind: logistic_regression
  features: 13
participants:
  expected: [cleveland, hungary]
tee:
  aggregator: simulated
`

// TestAccessControl runs a coordinator and an aggregator until the initial
// model is published (no participant daemons), then calls every service
// with certificates that must not get through: a participant of the
// federation's CA that is not in participants.expected, a participant
// calling the aggregator's control service, and an operator calling the
// participants' service. Each call must fail with PermissionDenied, and
// the intruder must leave no trace in the participants table.
func TestAccessControl(t *testing.T) {
	t.Parallel()
	f := newFed(t, nil, accessRounds)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wg.Wait() }()
	f.startCoordinator(ctx, f.coordLis)
	f.startAggregator(ctx)
	op := f.operator(t)
	eventually(t, 20*time.Second, "initial model published", func() (bool, string) {
		st, saw := roundOf(ctx, op, 0)
		return st.GetState() == confedv1.RoundState_ROUND_STATE_PUBLISHED, saw
	})

	// denied fails unless err is PermissionDenied with a message containing
	// every one of want.
	denied := func(t *testing.T, what string, err error, want ...string) {
		t.Helper()
		st := wantCode(t, what, err, codes.PermissionDenied)
		t.Logf("%s: %v: %s", what, st.Code(), st.Message())
		for _, w := range want {
			if !strings.Contains(st.Message(), w) {
				t.Errorf("%s: message %q does not contain %q", what, st.Message(), w)
			}
		}
	}
	// firstRecv opens a server stream with open and returns the error of
	// its first message (authorisation happens when the handler runs).
	firstRecv := func(s interface {
		Recv() (*confedv1.ModelChunk, error)
	}, err error) error {
		if err != nil {
			return err
		}
		_, err = s.Recv()
		return err
	}
	rctx := func(t *testing.T) context.Context {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		t.Cleanup(cancel)
		return c
	}

	t.Run("participant not in participants.expected", func(t *testing.T) {
		conn := f.dialAs(t, pki.RoleParticipant, "mallory", f.coordAddr, pki.RoleCoordinator)
		fc, oc := confedv1.NewFederationClient(conn), confedv1.NewOperatorClient(conn)
		c := rctx(t)
		_, err := fc.Join(c, &confedv1.JoinRequest{SoftwareVersion: "mallory/1"})
		denied(t, "Join", err, `"mallory"`, "participants.expected")
		wt, err := fc.WatchTasks(c, &confedv1.WatchTasksRequest{})
		if err == nil {
			_, err = wt.Recv()
		}
		denied(t, "WatchTasks", err, `"mallory"`)
		denied(t, "Federation.DownloadModel latest", firstRecv(fc.DownloadModel(c, &confedv1.DownloadModelRequest{})), `"mallory"`)
		r0 := uint64(0)
		denied(t, "Federation.DownloadModel round 0", firstRecv(fc.DownloadModel(c, &confedv1.DownloadModelRequest{Round: &r0})), `"mallory"`)
		denied(t, "Operator.DownloadModel", firstRecv(oc.DownloadModel(c, &confedv1.DownloadModelRequest{})), `"mallory"`)
		_, err = oc.ListRounds(c, &confedv1.ListRoundsRequest{})
		denied(t, "ListRounds", err, `"mallory"`)
		_, err = oc.GetRound(c, &confedv1.GetRoundRequest{Round: 0})
		denied(t, "GetRound", err, `"mallory"`)
		gl, err := oc.GetLedger(c, &confedv1.LedgerRequest{})
		if err == nil {
			_, err = gl.Recv()
		}
		denied(t, "GetLedger", err, `"mallory"`)
		ws, err := oc.WatchStatus(c, &confedv1.WatchStatusRequest{})
		if err == nil {
			_, err = ws.Recv()
		}
		denied(t, "WatchStatus", err, `"mallory"`)
	})

	t.Run("participant calling the aggregator control service", func(t *testing.T) {
		// cleveland is an expected participant: only its role is wrong.
		conn := f.dialAs(t, pki.RoleParticipant, "cleveland", f.coordAddr, pki.RoleCoordinator)
		ac := confedv1.NewAggregatorControlClient(conn)
		c := rctx(t)
		wr, err := ac.WatchRounds(c, &confedv1.WatchRoundsRequest{})
		if err == nil {
			_, err = wr.Recv()
		}
		denied(t, "WatchRounds", err, "role participant")
		_, err = ac.RoundReady(c, &confedv1.RoundReadyRequest{Round: 1})
		denied(t, "RoundReady", err, "role participant")
		_, err = ac.AdmitSubmission(c, &confedv1.AdmitRequest{Round: 1, Participant: "cleveland", NumExamples: 1})
		denied(t, "AdmitSubmission", err, "role participant")
		_, err = ac.ReportSubmission(c, &confedv1.SubmissionResult{Round: 1, Participant: "cleveland", Accepted: true, NumExamples: 1})
		denied(t, "ReportSubmission", err, "role participant")
		_, err = ac.FailRound(c, &confedv1.FailRoundRequest{Round: 1, Reason: "sabotage"})
		denied(t, "FailRound", err, "role participant")
		pa, err := ac.PublishAggregate(c)
		if err == nil {
			_ = pa.Send(&confedv1.PublishRequest{Msg: &confedv1.PublishRequest_Header{Header: &confedv1.ModelHeader{}}})
			_, err = pa.CloseAndRecv()
		}
		denied(t, "PublishAggregate", err, "role participant")
	})

	t.Run("operator calling the participant services", func(t *testing.T) {
		conn := f.dialAs(t, pki.RoleOperator, "operator-intruder", f.coordAddr, pki.RoleCoordinator)
		fc := confedv1.NewFederationClient(conn)
		c := rctx(t)
		_, err := fc.Join(c, &confedv1.JoinRequest{})
		denied(t, "Join", err, "role operator")
		wt, err := fc.WatchTasks(c, &confedv1.WatchTasksRequest{})
		if err == nil {
			_, err = wt.Recv()
		}
		denied(t, "WatchTasks", err, "role operator")
		denied(t, "Federation.DownloadModel", firstRecv(fc.DownloadModel(c, &confedv1.DownloadModelRequest{})), "role operator")
		agg := confedv1.NewAggregatorClient(f.dialAs(t, pki.RoleOperator, "operator-intruder", f.aggAddr, pki.RoleAggregator))
		up, err := agg.SubmitUpdate(c)
		if err == nil {
			_ = up.Send(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_Header{Header: &confedv1.UpdateHeader{Round: 1}}})
			_, err = up.CloseAndRecv()
		}
		denied(t, "Aggregator.SubmitUpdate", err, "role operator")
	})

	t.Run("expected participant still gets through", func(t *testing.T) {
		// The same calls with an expected participant's certificate work,
		// so the refusals above are about identity, not a broken set-up.
		conn := f.dialAs(t, pki.RoleParticipant, "hungary", f.coordAddr, pki.RoleCoordinator)
		c := rctx(t)
		if _, err := confedv1.NewFederationClient(conn).Join(c, &confedv1.JoinRequest{SoftwareVersion: "test"}); err != nil {
			t.Errorf("Join as hungary: %v", err)
		}
		if _, err := confedv1.NewOperatorClient(conn).GetRound(c, &confedv1.GetRoundRequest{Round: 0}); err != nil {
			t.Errorf("GetRound as hungary: %v", err)
		}
		if _, err := fetchModel(c, confedv1.NewFederationClient(conn), 0, nil, lrSpec(t)); err != nil {
			t.Errorf("DownloadModel as hungary: %v", err)
		}
	})

	cancel()
	f.wg.Wait()
	st, err := store.Open(filepath.Join(f.dir, "coordinator.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := st.Participants()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if len(names) != 1 || names[0] != "hungary" {
		t.Errorf("participants table holds %v, want only hungary (refused callers must leave no record)", names)
	}
}
