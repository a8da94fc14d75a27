package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

type fakeAuth struct{}

func (fakeAuth) AuthType() string { return "fake" }

// peerCtx fakes what gRPC puts in a handler's context.
func peerCtx(info credentials.AuthInfo) context.Context {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
	return peer.NewContext(context.Background(), &peer.Peer{Addr: addr, AuthInfo: info})
}

func tlsInfo(chain ...*x509.Certificate) credentials.TLSInfo {
	st := tls.ConnectionState{Version: tls.VersionTLS13}
	if len(chain) > 0 {
		st.PeerCertificates = chain[:1]
		st.VerifiedChains = [][]*x509.Certificate{chain}
	}
	return credentials.TLSInfo{State: st}
}

func leafOf(t *testing.T, ca *CA, id Identity) *x509.Certificate {
	t.Helper()
	certPEM, _ := mustIssue(t, ca, IssueRequest{Identity: id})
	certs, err := parseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestPeerIdentity(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	forged := *ca
	forged.Federation = "lung"
	hospital := ident(RoleParticipant, "hospital-a")
	good := leafOf(t, ca, hospital)
	lung := leafOf(t, &forged, Identity{Federation: "lung", Role: RoleParticipant, Name: "h"})
	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"verified participant", peerCtx(tlsInfo(good, ca.Cert)), ""},
		{"no peer", context.Background(), "no peer in context"},
		{"not TLS", peerCtx(fakeAuth{}), "is not TLS"},
		{"no auth info", peerCtx(nil), "is not TLS"},
		{"no client certificate", peerCtx(tlsInfo()), "presented no verified certificate"},
		{"CA certificate as leaf", peerCtx(tlsInfo(ca.Cert)), "is a CA certificate"},
		{"another federation", peerCtx(tlsInfo(lung, ca.Cert)), `not in federation "heart"`},
		{"root is not a confed CA", peerCtx(tlsInfo(good, good)), "verifying CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := PeerIdentity(tt.ctx)
			wantErr(t, err, tt.want)
			if tt.want != "" && !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("error %v does not wrap ErrUnauthenticated", err)
			}
			if tt.want == "" && id != hospital {
				t.Errorf("identity = %v, want %v", id, hospital)
			}
		})
	}
}

func TestRequireRole(t *testing.T) {
	ca, _ := newTestCA(t, testFed)
	ctx := peerCtx(tlsInfo(leafOf(t, ca, ident(RoleParticipant, "hospital-a")), ca.Cert))
	tests := []struct {
		name    string
		ctx     context.Context
		roles   []Role
		want    string
		wantErr error
	}{
		{"allowed", ctx, []Role{RoleParticipant}, "", nil},
		{"one of several", ctx, []Role{RoleOperator, RoleParticipant}, "", nil},
		{"wrong role", ctx, []Role{RoleCoordinator, RoleAggregator},
			"participant/hospital-a@heart presented role participant; allowed: coordinator, aggregator", ErrPermissionDenied},
		{"no role allowed", ctx, nil, "allowed: none", ErrPermissionDenied},
		{"unauthenticated", context.Background(), []Role{RoleParticipant}, "no peer", ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RequireRole(tt.ctx, tt.roles...)
			wantErr(t, err, tt.want)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrPermissionDenied) && errors.Is(err, ErrUnauthenticated) {
				t.Errorf("error %v wraps both sentinels", err)
			}
		})
	}
}
