package atls

import (
	"context"
	"maps"
	"slices"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
)

// AuthInfo is what an attested connection tells the code above it about the
// peer. gRPC puts it into the peer of every RPC on the connection: on the
// server in the handler's context (AuthInfoFromContext, ClaimsFromContext);
// on the client in a stream's Context() as soon as the stream exists (the
// same functions), and through the grpc.Peer call option once an RPC is
// done (AuthInfoFromPeer).
//
// It embeds the TLS information of the connection. Note that code which
// type-asserts p.AuthInfo.(credentials.TLSInfo) does not see it; use the TLS
// method (see the package README for the change pki.PeerIdentity needs).
//
// The fields are shared by every RPC of the connection: do not modify them.
type AuthInfo struct {
	credentials.TLSInfo
	// PeerIdentity is the identity in the peer's verified federation
	// certificate.
	PeerIdentity pki.Identity
	// PeerClaims are the claims of the peer's evidence, verified by this
	// side's Verifier against this connection; nil if the peer presented no
	// evidence or this side has no Verifier.
	PeerClaims *tee.Claims
	// Evidence is the peer's evidence as verified (zero when PeerClaims is
	// nil).
	Evidence tee.Evidence
	// PeerBinding is the peer's Config.Binding, bound into its verified
	// evidence (nil when PeerClaims is nil: an unverified binding is never
	// exposed).
	PeerBinding []byte
	// Context is the federation and round the connection was attested for.
	Context Context
}

// AuthType implements credentials.AuthInfo.
func (AuthInfo) AuthType() string { return "atls" }

// TLS returns the TLS information of the connection, for code that needs a
// credentials.TLSInfo (pki.PeerIdentity once it accepts wrapped TLS info).
func (a AuthInfo) TLS() credentials.TLSInfo { return a.TLSInfo }

// Attested reports whether the peer's evidence was verified.
func (a AuthInfo) Attested() bool { return a.PeerClaims != nil }

// AuthInfoFromPeer returns the AuthInfo of p, if p's connection used this
// package's credentials. On a client, fill p with the grpc.Peer call option.
func AuthInfoFromPeer(p *peer.Peer) (AuthInfo, bool) {
	if p == nil {
		return AuthInfo{}, false
	}
	switch ai := p.AuthInfo.(type) {
	case AuthInfo:
		return ai, true
	case *AuthInfo:
		if ai != nil {
			return *ai, true
		}
	}
	return AuthInfo{}, false
}

// AuthInfoFromContext returns the AuthInfo of the RPC's peer: in a server
// handler's context, or in a client stream's Context().
func AuthInfoFromContext(ctx context.Context) (AuthInfo, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return AuthInfo{}, false
	}
	return AuthInfoFromPeer(p)
}

// ClaimsFromContext returns a copy of the verified claims of the RPC's peer.
// It returns false if the connection is not attested TLS, or if the peer
// presented no evidence or this side did not verify it.
func ClaimsFromContext(ctx context.Context) (*tee.Claims, bool) {
	ai, ok := AuthInfoFromContext(ctx)
	if !ok || ai.PeerClaims == nil {
		return nil, false
	}
	return cloneClaims(ai.PeerClaims), true
}

func cloneClaims(c *tee.Claims) *tee.Claims {
	out := *c
	out.Measurement = slices.Clone(c.Measurement)
	out.Details = maps.Clone(c.Details)
	return &out
}
