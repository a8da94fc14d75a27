package submit

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// stagingServer is an Aggregator whose SubmitUpdate reads the header, then
// either refuses, or waits for its gate and grants staging and counts the
// messages that follow.
type stagingServer struct {
	confedv1.UnimplementedAggregatorServer
	refuse bool
	gate   chan struct{}
	chunks atomic.Int32
}

func (s *stagingServer) SubmitUpdate(srv confedv1.Aggregator_SubmitUpdateServer) error {
	if _, err := srv.Recv(); err != nil {
		return err
	}
	if s.refuse {
		return status.Error(codes.PermissionDenied, "participant not expected")
	}
	<-s.gate
	if err := GrantStaging(srv); err != nil {
		return err
	}
	for {
		_, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			return srv.SendAndClose(&confedv1.SubmitUpdateResponse{Accepted: true})
		}
		if err != nil {
			return err
		}
		s.chunks.Add(1)
	}
}

func dialStaging(t *testing.T, s *stagingServer) confedv1.AggregatorClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	confedv1.RegisterAggregatorServer(srv, s)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return confedv1.NewAggregatorClient(conn)
}

func TestSendUpdateWaitsForStaging(t *testing.T) {
	tests := []struct {
		name       string
		refuse     bool
		wantBody   bool
		wantErr    string
		wantChunks int32
	}{
		{name: "granted", wantBody: true, wantChunks: 3},
		{name: "refused before any data", refuse: true, wantErr: "participant not expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stagingServer{refuse: tt.refuse, gate: make(chan struct{})}
			client := dialStaging(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			up, err := client.SubmitUpdate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var bodyCalled atomic.Bool
			done := make(chan struct{})
			var resp *confedv1.SubmitUpdateResponse
			go func() {
				defer close(done)
				resp, err = SendUpdate(up, &confedv1.UpdateHeader{Round: 1}, func() error {
					bodyCalled.Store(true)
					for i := range 3 {
						if err := up.Send(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{
							SealedChunk: &confedv1.SealedChunk{Seq: uint64(i)}}}); err != nil {
							return err
						}
					}
					return nil
				})
			}()
			if !tt.refuse {
				time.Sleep(100 * time.Millisecond)
				if bodyCalled.Load() {
					t.Fatal("the update was sent before the aggregator granted a staging buffer")
				}
				close(s.gate)
			}
			<-done
			if bodyCalled.Load() != tt.wantBody {
				t.Fatalf("body called: %v, want %v", bodyCalled.Load(), tt.wantBody)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SendUpdate: %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !resp.GetAccepted() {
				t.Fatalf("SendUpdate: %v, %v", resp, err)
			}
			if got := s.chunks.Load(); got != tt.wantChunks {
				t.Fatalf("the aggregator received %d chunks, want %d", got, tt.wantChunks)
			}
		})
	}
}
