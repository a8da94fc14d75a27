package pki

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Sentinel errors wrapped by PeerIdentity and RequireRole; handlers map them
// to codes.Unauthenticated and codes.PermissionDenied with errors.Is.
var (
	ErrUnauthenticated  = errors.New("unauthenticated")
	ErrPermissionDenied = errors.New("permission denied")
)

// PeerIdentity returns the identity of the gRPC peer in ctx after a mutual
// TLS handshake. Our federation is the one named by the CA certificate that
// verified the peer (the only CA we trust); the peer's identity must belong
// to it. Errors wrap ErrUnauthenticated.
func PeerIdentity(ctx context.Context) (Identity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Identity{}, fmt.Errorf("pki: %w: no peer in context", ErrUnauthenticated)
	}
	info, ok := TLSInfoOf(p.AuthInfo)
	if !ok {
		return Identity{}, fmt.Errorf("pki: %w: connection from %s is not TLS", ErrUnauthenticated, p.Addr)
	}
	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return Identity{}, fmt.Errorf("pki: %w: %s presented no verified certificate", ErrUnauthenticated, p.Addr)
	}
	chain := chains[0]
	id, err := IdentityFromCert(chain[0])
	if err != nil {
		return Identity{}, fmt.Errorf("pki: %w: %w", ErrUnauthenticated, err)
	}
	ours, err := federationOfCA(chain[len(chain)-1])
	if err != nil {
		return Identity{}, fmt.Errorf("pki: %w: verifying CA: %w", ErrUnauthenticated, err)
	}
	if id.Federation != ours {
		return Identity{}, fmt.Errorf("pki: %w: %s is not in federation %q", ErrUnauthenticated, id, ours)
	}
	return id, nil
}

// RequireRole returns the peer's identity if its role is one of roles. The
// error wraps ErrUnauthenticated (no valid identity) or ErrPermissionDenied
// (wrong role) and says which role was presented and which were allowed.
func RequireRole(ctx context.Context, roles ...Role) (Identity, error) {
	id, err := PeerIdentity(ctx)
	if err != nil {
		return Identity{}, err
	}
	if !slices.Contains(roles, id.Role) {
		allowed := rolesString(roles)
		if allowed == "" {
			allowed = "none"
		}
		return Identity{}, fmt.Errorf("pki: %w: %s presented role %s; allowed: %s",
			ErrPermissionDenied, id, id.Role, allowed)
	}
	return id, nil
}

// TLSAuthInfo is implemented by AuthInfo types that wrap a TLS handshake
// (internal/atls.AuthInfo), so that PeerIdentity works behind them.
type TLSAuthInfo interface {
	TLS() credentials.TLSInfo
}

// TLSInfoOf returns the TLS information of a gRPC peer's AuthInfo: plain
// credentials.TLSInfo or a TLSAuthInfo that wraps it.
func TLSInfoOf(ai credentials.AuthInfo) (credentials.TLSInfo, bool) {
	switch ai := ai.(type) {
	case credentials.TLSInfo:
		return ai, true
	case TLSAuthInfo:
		return ai.TLS(), true
	}
	return credentials.TLSInfo{}, false
}
