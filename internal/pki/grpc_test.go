package pki

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// authzServer is a real gRPC health server whose interceptor admits only
// the given roles, the way confed handlers use RequireRole.
type authzServer struct {
	addr string
	mu   sync.Mutex
	seen []Identity
}

func startGRPC(t *testing.T, f Files, roles ...Role) *authzServer {
	t.Helper()
	cfg, err := ServerTLS(f)
	if err != nil {
		t.Fatal(err)
	}
	s := &authzServer{}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)), grpc.UnaryInterceptor(s.intercept(roles)))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *authzServer) intercept(roles []Role) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		id, err := RequireRole(ctx, roles...)
		switch {
		case errors.Is(err, ErrPermissionDenied):
			return nil, status.Error(codes.PermissionDenied, err.Error())
		case err != nil:
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		s.mu.Lock()
		s.seen = append(s.seen, id)
		s.mu.Unlock()
		return h(ctx, req)
	}
}

func (s *authzServer) identities() []Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identity(nil), s.seen...)
}

// check calls Health.Check as the holder of f.
func check(t *testing.T, addr string, f Files) error {
	t.Helper()
	cfg, err := ClientTLS(f, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func TestGRPCRoles(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	coordFiles := issueFiles(t, ca, serverReq(RoleCoordinator, "coord"))
	srv := startGRPC(t, coordFiles, RoleAggregator, RoleOperator)

	tests := []struct {
		name     string
		id       Identity
		wantCode codes.Code
		wantMsg  string
	}{
		{"aggregator allowed", ident(RoleAggregator, "agg-1"), codes.OK, ""},
		{"operator allowed", ident(RoleOperator, "alice"), codes.OK, ""},
		{"participant denied", ident(RoleParticipant, "hospital-a"), codes.PermissionDenied,
			"participant/hospital-a@heart presented role participant; allowed: aggregator, operator"},
		{"coordinator denied", ident(RoleCoordinator, "coord-2"), codes.PermissionDenied, "presented role coordinator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := issueFiles(t, ca, IssueRequest{Identity: tt.id})
			before := len(srv.identities())
			err := check(t, srv.addr, f)
			st := status.Convert(err)
			if st.Code() != tt.wantCode || !strings.Contains(st.Message(), tt.wantMsg) {
				t.Fatalf("Check = %v, want %v containing %q", err, tt.wantCode, tt.wantMsg)
			}
			seen := srv.identities()
			if tt.wantCode == codes.OK && (len(seen) != before+1 || seen[len(seen)-1] != tt.id) {
				t.Errorf("server saw %v, want %v", seen[before:], tt.id)
			}
		})
	}
}

func TestGRPCRefusesForeignClient(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	srv := startGRPC(t, issueFiles(t, ca, serverReq(RoleCoordinator, "coord")), RoleParticipant)

	// A participant certified by another CA: the handshake fails (its
	// ClientTLS trusts only its own CA) and no RPC reaches the handler.
	otherCA, _ := newTestCA(t, testFed)
	other := issueFiles(t, otherCA, IssueRequest{Identity: ident(RoleParticipant, "hospital-a")})
	if err := check(t, srv.addr, other); status.Code(err) != codes.Unavailable {
		t.Errorf("foreign client: %v, want Unavailable", err)
	}
	if seen := srv.identities(); len(seen) != 0 {
		t.Errorf("server admitted %v", seen)
	}
}
