package pki

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
)

// ServerTLS returns the server side of confed's mutual TLS: TLS 1.3 only,
// our certificate from f, and a client certificate required and verified
// against the CA in f (no system roots). The client must also carry an
// identity of our federation.
func ServerTLS(f Files) (*tls.Config, error) {
	m, err := load(f)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{m.cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        m.pool,
		VerifyConnection: verifyPeerFederation(m.federation),
	}, nil
}

// ClientTLS returns the client side of confed's mutual TLS: TLS 1.3 only,
// our certificate from f as client certificate, and the server verified
// against the CA in f only (no system roots) for serverName. An empty
// serverName lets gRPC use the host of the dial target. The server must also
// carry an identity of our federation.
func ClientTLS(f Files, serverName string) (*tls.Config, error) {
	m, err := load(f)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{m.cert},
		RootCAs:          m.pool,
		ServerName:       serverName,
		VerifyConnection: verifyPeerFederation(m.federation),
	}, nil
}

// LocalIdentity returns the identity in our own certificate f.Cert, after
// the same checks ServerTLS and ClientTLS make.
func LocalIdentity(f Files) (Identity, error) {
	m, err := load(f)
	if err != nil {
		return Identity{}, err
	}
	return m.identity, nil
}

// verifyPeerFederation runs after chain verification and refuses a peer
// whose certificate names no identity of federation.
func verifyPeerFederation(federation string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("pki: peer presented no certificate")
		}
		id, err := IdentityFromCert(cs.PeerCertificates[0])
		if err != nil {
			return err
		}
		if id.Federation != federation {
			return fmt.Errorf("pki: peer %s is not in federation %q", id, federation)
		}
		return nil
	}
}

// ClientTLSFor is ClientTLS that also requires the server's certificate to
// carry one of roles, so that a client never talks to, say, a participant
// that holds a certificate for the host it dialled.
func ClientTLSFor(f Files, serverName string, roles ...Role) (*tls.Config, error) {
	cfg, err := ClientTLS(f, serverName)
	if err != nil {
		return nil, err
	}
	federationCheck := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := federationCheck(cs); err != nil {
			return err
		}
		id, err := IdentityFromCert(cs.PeerCertificates[0])
		if err != nil {
			return err
		}
		if !slices.Contains(roles, id.Role) {
			return fmt.Errorf("pki: server %s presented role %s; expected %v", id, id.Role, roles)
		}
		return nil
	}
	return cfg, nil
}
