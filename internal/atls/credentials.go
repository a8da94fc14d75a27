package atls

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
)

// DefaultHandshakeTimeout bounds a whole handshake (TLS and attestation)
// when Config.HandshakeTimeout is zero. gRPC clients also bound it by their
// connect deadline (20 s by default), whichever comes first.
const DefaultHandshakeTimeout = 20 * time.Second

// Context is what a connection is attested for. Both sides must agree on it:
// it is bound into every piece of evidence.
type Context struct {
	// Federation is the federation name; it must be the federation of
	// this side's certificate.
	Federation string
	// Round is the training round the connection is for (0: not bound to a
	// round).
	Round uint64
}

// Config configures one side of attested TLS.
type Config struct {
	// TLS is confed's mutual TLS configuration: pki.ServerTLS on a server,
	// pki.ClientTLS or pki.ClientTLSFor on a client. It must be TLS 1.3
	// only with exactly one static certificate (the one whose key the
	// evidence binds). Required.
	TLS *tls.Config
	// Context is bound into the evidence of both sides.
	Context Context

	// Issuer, if set, proves this side: it issues evidence binding this
	// connection, this side's certificate key and Binding. A server with an
	// Issuer always presents evidence; a client presents it when the server
	// asks (the server has a Verifier).
	Issuer tee.Issuer
	// Binding is extra data bound into this side's evidence, at most
	// MaxBindingSize bytes (the aggregator puts its HPKE public key and its
	// signing key there). The peer sees it in AuthInfo.PeerBinding once it
	// has verified the evidence. Requires Issuer.
	Binding []byte
	// BindingFunc, if set, is called at every handshake and its result is
	// bound instead of Binding, for data that changes over the server's
	// life (the aggregator's per-round HPKE key). Requires Issuer.
	BindingFunc func() []byte

	// Verifier, if set, checks the peer's evidence. A client verifies the
	// server's evidence whenever the server presents some; a server with a
	// Verifier asks the client for evidence and verifies what it gets.
	Verifier tee.Verifier
	// Required refuses a peer that presents no evidence. Requires Verifier.
	// On a server it is the policy "participants must attest"; without it
	// a server relies on the client's federation certificate alone.
	Required bool
	// CheckPeer, if set, is further policy on a peer whose evidence
	// verified (for example the expected layout of its Binding). An error
	// refuses the peer with the error's text as the reason.
	CheckPeer func(ctx context.Context, peer pki.Identity, claims *tee.Claims, binding []byte) error

	// HandshakeTimeout bounds the whole handshake, TLS included; zero means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// OnHandshake, if set, is called once at the end of every handshake,
	// successful or not (for logging and tests). It is called from
	// concurrent handshakes and must not block.
	OnHandshake func(Event)
}

// Event describes a finished handshake.
type Event struct {
	// Side is this side's role: "client" or "server".
	Side   string
	Remote net.Addr
	// Info is the connection's AuthInfo on success, nil on failure.
	Info *AuthInfo
	// Err is nil on success; a *RefusalError if either side refused.
	Err error
}

// Credentials are gRPC transport credentials that run confed's mutual TLS
// and then the attestation exchange described in the package
// documentation, before gRPC sees the connection. They are safe for
// concurrent use.
type Credentials struct {
	role     string
	peerRole string
	cfg      Config
	inner    credentials.TransportCredentials
	// localSPKI is the SHA-256 of this side's certificate public key.
	localSPKI [32]byte
	timeout   time.Duration
}

var _ credentials.TransportCredentials = (*Credentials)(nil)

// NewServerCredentials returns the server side, for grpc.Creds.
func NewServerCredentials(cfg Config) (*Credentials, error) {
	return newCredentials(roleServer, cfg)
}

// NewClientCredentials returns the client side, for
// grpc.WithTransportCredentials.
func NewClientCredentials(cfg Config) (*Credentials, error) {
	return newCredentials(roleClient, cfg)
}

const (
	roleClient = "client"
	roleServer = "server"
)

func newCredentials(role string, cfg Config) (*Credentials, error) {
	if err := pki.ValidateName(cfg.Context.Federation); err != nil {
		return nil, fmt.Errorf("atls: context federation: %w", err)
	}
	if cfg.Required && cfg.Verifier == nil {
		return nil, errors.New("atls: Required is set but there is no Verifier")
	}
	if (cfg.Binding != nil || cfg.BindingFunc != nil) && cfg.Issuer == nil {
		return nil, errors.New("atls: Binding is set but there is no Issuer to bind it")
	}
	if cfg.Binding != nil && cfg.BindingFunc != nil {
		return nil, errors.New("atls: set Binding or BindingFunc, not both")
	}
	if len(cfg.Binding) > MaxBindingSize {
		return nil, fmt.Errorf("atls: Binding of %d bytes exceeds the limit of %d bytes", len(cfg.Binding), MaxBindingSize)
	}
	if cfg.Issuer != nil && !validToken(cfg.Issuer.Kind(), maxKindLen) {
		return nil, fmt.Errorf("atls: issuer kind %q cannot be sent", cfg.Issuer.Kind())
	}
	if cfg.HandshakeTimeout < 0 {
		return nil, fmt.Errorf("atls: negative handshake timeout %s", cfg.HandshakeTimeout)
	}
	leaf, err := checkTLS(role, cfg.TLS)
	if err != nil {
		return nil, err
	}
	id, err := pki.IdentityFromCert(leaf)
	if err != nil {
		return nil, fmt.Errorf("atls: own certificate: %w", err)
	}
	if id.Federation != cfg.Context.Federation {
		return nil, fmt.Errorf("atls: own certificate %s is not in the context's federation %q", id, cfg.Context.Federation)
	}
	c := &Credentials{
		role:      role,
		peerRole:  roleServer,
		cfg:       cfg,
		inner:     credentials.NewTLS(cfg.TLS),
		localSPKI: sha256.Sum256(leaf.RawSubjectPublicKeyInfo),
		timeout:   cfg.HandshakeTimeout,
	}
	if role == roleServer {
		c.peerRole = roleClient
	}
	if c.timeout == 0 {
		c.timeout = DefaultHandshakeTimeout
	}
	c.cfg.Binding = slices.Clone(cfg.Binding)
	c.cfg.TLS = nil // the inner credentials hold their own clone
	return c, nil
}

// checkTLS refuses configurations whose certificate the handshake cannot
// know in advance or that could negotiate anything but TLS 1.3 (whose
// exporter is unique per connection), and returns our leaf certificate.
func checkTLS(role string, cfg *tls.Config) (*x509.Certificate, error) {
	switch {
	case cfg == nil:
		return nil, errors.New("atls: no TLS configuration (use pki.ServerTLS or pki.ClientTLS)")
	case cfg.MinVersion != tls.VersionTLS13:
		return nil, errors.New("atls: TLS configuration must be TLS 1.3 only (MinVersion)")
	case len(cfg.Certificates) != 1 || len(cfg.Certificates[0].Certificate) == 0:
		return nil, fmt.Errorf("atls: TLS configuration has %d certificates, want exactly 1", len(cfg.Certificates))
	case cfg.GetCertificate != nil || cfg.GetClientCertificate != nil || cfg.GetConfigForClient != nil:
		return nil, errors.New("atls: TLS configuration must not choose certificates dynamically (the evidence binds one key)")
	case cfg.InsecureSkipVerify:
		return nil, errors.New("atls: TLS configuration must verify the peer")
	case role == roleServer && cfg.ClientAuth != tls.RequireAndVerifyClientCert:
		return nil, errors.New("atls: server TLS configuration must require and verify client certificates (pki.ServerTLS)")
	}
	leaf := cfg.Certificates[0].Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cfg.Certificates[0].Certificate[0]); err != nil {
			return nil, fmt.Errorf("atls: own certificate: %w", err)
		}
	}
	return leaf, nil
}

// ClientHandshake implements credentials.TransportCredentials. The whole
// handshake is bounded by ctx and by the handshake timeout.
func (c *Credentials) ClientHandshake(ctx context.Context, authority string, rawConn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if c.role != roleClient {
		rawConn.Close()
		return nil, nil, errors.New("atls: server credentials used for a client handshake")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, ai, err := c.inner.ClientHandshake(ctx, authority, rawConn)
	if err != nil {
		return nil, nil, c.report(rawConn.RemoteAddr(), nil, c.tlsError(ctx, rawConn, err))
	}
	info, err := c.exchange(ctx, conn, ai)
	if err != nil {
		return nil, nil, c.report(rawConn.RemoteAddr(), nil, err)
	}
	// The attestation deadline must not outlive the handshake.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, nil, c.report(rawConn.RemoteAddr(), nil, fmt.Errorf("atls: %w", err))
	}
	c.report(rawConn.RemoteAddr(), &info, nil)
	return conn, info, nil
}

// ServerHandshake implements credentials.TransportCredentials. The whole
// handshake is bounded by the handshake timeout. On success the deadline
// stays on the connection: gRPC's server clears it once its HTTP/2 set-up
// is done, so a client that attests and then stalls is still bounded.
func (c *Credentials) ServerHandshake(rawConn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if c.role != roleServer {
		rawConn.Close()
		return nil, nil, errors.New("atls: client credentials used for a server handshake")
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	if err := rawConn.SetDeadline(deadline); err != nil {
		rawConn.Close()
		return nil, nil, c.report(rawConn.RemoteAddr(), nil, fmt.Errorf("atls: %w", err))
	}
	conn, ai, err := c.inner.ServerHandshake(rawConn)
	if err != nil {
		if err == io.EOF {
			// A prober that connected and left: gRPC does not log io.EOF.
			c.report(rawConn.RemoteAddr(), nil, err)
			return nil, nil, err
		}
		return nil, nil, c.report(rawConn.RemoteAddr(), nil, c.tlsError(ctx, rawConn, err))
	}
	info, err := c.exchange(ctx, conn, ai)
	if err != nil {
		return nil, nil, c.report(rawConn.RemoteAddr(), nil, err)
	}
	c.report(rawConn.RemoteAddr(), &info, nil)
	return conn, info, nil
}

func (c *Credentials) tlsError(ctx context.Context, rawConn net.Conn, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
		return fmt.Errorf("atls: TLS handshake with %s timed out after %s: %w", rawConn.RemoteAddr(), c.timeout, err)
	}
	return fmt.Errorf("atls: TLS handshake with %s: %w", rawConn.RemoteAddr(), err)
}

func (c *Credentials) report(remote net.Addr, info *AuthInfo, err error) error {
	if c.cfg.OnHandshake != nil {
		c.cfg.OnHandshake(Event{Side: c.role, Remote: remote, Info: info, Err: err})
	}
	return err
}

// Info implements credentials.TransportCredentials. The security protocol
// is "tls" (it is TLS, and gRPC uses the https scheme only for "tls").
func (c *Credentials) Info() credentials.ProtocolInfo {
	return c.inner.Info()
}

// Clone implements credentials.TransportCredentials.
func (c *Credentials) Clone() credentials.TransportCredentials {
	out := *c
	out.inner = c.inner.Clone()
	out.cfg.Binding = slices.Clone(c.cfg.Binding)
	return &out
}

// OverrideServerName implements credentials.TransportCredentials.
//
// Deprecated: gRPC does not use it; use grpc.WithAuthority.
func (c *Credentials) OverrideServerName(name string) error {
	return c.inner.OverrideServerName(name) //nolint:staticcheck // delegating the deprecated method
}
