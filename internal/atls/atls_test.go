package atls

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
)

// TestServerAttestsClientVerifies: the aggregator proves itself, the
// participant checks it and relies on nothing else from the server; the
// server relies on the participant's certificate.
func TestServerAttestsClientVerifies(t *testing.T) {
	p := newPKI(t)
	sev, cev := newEvents(), newEvents()
	binding := []byte("hpke-public-key|ed25519-signing-key")

	scfg := serverConfig(t, p, sev)
	scfg.Issuer = simIssuer(t, goodM)
	scfg.Binding = binding
	srv := startServer(t, scfg)

	ccfg := clientConfig(t, p, cev)
	ccfg.Verifier = simVerifier(goodM)
	ccfg.Required = true
	pr, err := call(t, srv.addr, ccfg)
	if err != nil {
		t.Fatalf("RPC: %v", err)
	}

	// The handler: the caller's certificate identity, no claims.
	h := srv.last(t)
	if !h.infoOK {
		t.Fatal("handler: no atls AuthInfo in the peer")
	}
	if h.claimsOK || h.claims != nil || h.info.PeerClaims != nil || h.info.PeerBinding != nil {
		t.Errorf("handler sees client claims %+v, want none", h.claims)
	}
	if h.info.PeerIdentity != clientID {
		t.Errorf("handler: peer identity %v, want %v", h.info.PeerIdentity, clientID)
	}
	if got := h.info.TLS().State.VerifiedChains; len(got) == 0 {
		t.Error("handler: TLS() has no verified chains")
	}

	// The client: the server's verified claims and binding, via grpc.Peer.
	ai, ok := AuthInfoFromPeer(pr)
	if !ok {
		t.Fatalf("client: peer AuthInfo is %T, want atls.AuthInfo", pr.AuthInfo)
	}
	if !ai.Attested() || !bytes.Equal(ai.PeerClaims.Measurement, goodM[:]) || !ai.PeerClaims.Insecure {
		t.Errorf("client: claims %+v, want the simulated measurement %x", ai.PeerClaims, goodM)
	}
	if err := credentials.CheckSecurityLevel(ai, credentials.PrivacyAndIntegrity); err != nil {
		t.Errorf("client: security level: %v", err)
	}
	if !bytes.Equal(ai.PeerBinding, binding) {
		t.Errorf("client: peer binding %q, want %q", ai.PeerBinding, binding)
	}
	if ai.PeerIdentity != serverID || ai.Evidence.Kind != tee.KindSimulated || ai.Context != scfg.Context {
		t.Errorf("client: identity %v, evidence kind %q, context %+v", ai.PeerIdentity, ai.Evidence.Kind, ai.Context)
	}
	// The claims bind this connection's exporter, the server's key, the
	// binding and the context.
	want := reportData(roleServer, exporterFromState(t, ai), spkiOf(t, ai), binding, scfg.Context)
	if ai.PeerClaims.ReportData != want {
		t.Error("client: claims do not carry the report data of this connection")
	}

	// Both OnHandshake hooks saw success.
	if ev := sev.next(t); ev.Err != nil || ev.Side != roleServer || ev.Info == nil || ev.Info.PeerIdentity != clientID {
		t.Errorf("server event %+v", ev)
	}
	if ev := cev.next(t); ev.Err != nil || ev.Side != roleClient || ev.Info == nil || !ev.Info.Attested() {
		t.Errorf("client event %+v", ev)
	}
}

func TestMutualAttestation(t *testing.T) {
	p := newPKI(t)
	sev, cev := newEvents(), newEvents()
	clientM := [32]byte{9, 9}

	scfg := serverConfig(t, p, sev)
	scfg.Issuer = simIssuer(t, goodM)
	scfg.Binding = []byte("server keys")
	scfg.Verifier = simVerifier(clientM)
	scfg.Required = true
	var checked []byte
	scfg.CheckPeer = func(_ context.Context, id pki.Identity, c *tee.Claims, binding []byte) error {
		checked = binding
		if id != clientID || c == nil {
			return fmt.Errorf("CheckPeer got %v %v", id, c)
		}
		return nil
	}
	srv := startServer(t, scfg)

	ccfg := clientConfig(t, p, cev)
	ccfg.Issuer = simIssuer(t, clientM)
	ccfg.Binding = []byte("client keys")
	ccfg.Verifier = simVerifier(goodM)
	ccfg.Required = true
	pr, err := call(t, srv.addr, ccfg)
	if err != nil {
		t.Fatalf("RPC: %v", err)
	}
	h := srv.last(t)
	if !h.claimsOK || !bytes.Equal(h.claims.Measurement, clientM[:]) {
		t.Errorf("handler: claims %+v, want the client's measurement", h.claims)
	}
	if string(h.info.PeerBinding) != "client keys" || string(checked) != "client keys" {
		t.Errorf("handler: peer binding %q (CheckPeer saw %q), want the client's", h.info.PeerBinding, checked)
	}
	// ClaimsFromContext hands out a copy.
	h.claims.Measurement[0] ^= 0xff
	if h.info.PeerClaims.Measurement[0] != clientM[0] {
		t.Error("ClaimsFromContext returned the connection's own claims, not a copy")
	}
	ai, _ := AuthInfoFromPeer(pr)
	if !ai.Attested() || !bytes.Equal(ai.PeerClaims.Measurement, goodM[:]) || string(ai.PeerBinding) != "server keys" {
		t.Errorf("client: claims %+v binding %q", ai.PeerClaims, ai.PeerBinding)
	}
	if ev := sev.next(t); ev.Err != nil {
		t.Errorf("server: %v", ev.Err)
	}
}

// refusalCase is a configuration that ends in a refusal by one side.
type refusalCase struct {
	name   string
	server func(*Config)
	client func(*Config)
	// refuser is the side that refuses: "client" or "server".
	refuser string
	reason  string
}

func TestRefusals(t *testing.T) {
	p := newPKI(t)
	notAllowed := fmt.Sprintf("attestation refused: simulated evidence: measurement %x is not in the allowed list", badM)
	cases := []refusalCase{
		{
			name:    "server measurement not allowed",
			server:  func(c *Config) { c.Issuer = simIssuer(t, badM) },
			client:  func(c *Config) { c.Verifier = simVerifier(goodM); c.Required = true },
			refuser: roleClient,
			reason:  notAllowed,
		},
		{
			name:    "server measurement not allowed, evidence optional",
			server:  func(c *Config) { c.Issuer = simIssuer(t, badM) },
			client:  func(c *Config) { c.Verifier = simVerifier(goodM) },
			refuser: roleClient,
			reason:  notAllowed,
		},
		{
			name:    "server has no issuer, client requires evidence",
			server:  func(*Config) {},
			client:  func(c *Config) { c.Verifier = simVerifier(goodM); c.Required = true },
			refuser: roleClient,
			reason:  "attestation refused: the server presented no attestation evidence and this client requires it",
		},
		{
			name:    "client must attest but has no issuer",
			server:  func(c *Config) { c.Issuer = simIssuer(t, goodM); c.Verifier = simVerifier(goodM); c.Required = true },
			client:  func(c *Config) { c.Verifier = simVerifier(goodM); c.Required = true },
			refuser: roleServer,
			reason:  "attestation refused: the client presented no attestation evidence and this server requires clients to attest",
		},
		{
			name:    "client measurement not allowed",
			server:  func(c *Config) { c.Verifier = simVerifier(goodM); c.Required = true },
			client:  func(c *Config) { c.Issuer = simIssuer(t, badM) },
			refuser: roleServer,
			reason:  notAllowed,
		},
		{
			name:    "rounds differ",
			server:  func(c *Config) { c.Issuer = simIssuer(t, goodM) },
			client:  func(c *Config) { c.Verifier = simVerifier(goodM); c.Context.Round = 4 },
			refuser: roleClient,
			reason:  "attestation refused: the server's evidence is for federation heart round 3; this connection is for federation heart round 4",
		},
		{
			name:   "CheckPeer refuses the binding",
			server: func(c *Config) { c.Issuer = simIssuer(t, goodM); c.Binding = []byte("short") },
			client: func(c *Config) {
				c.Verifier = simVerifier(goodM)
				c.CheckPeer = func(_ context.Context, _ pki.Identity, _ *tee.Claims, b []byte) error {
					return fmt.Errorf("binding of %d bytes, want 64", len(b))
				}
			},
			refuser: roleClient,
			reason:  "attestation refused: binding of 5 bytes, want 64",
		},
		{
			name:    "simulated evidence without opt-in",
			server:  func(c *Config) { c.Issuer = simIssuer(t, goodM) },
			client:  func(c *Config) { c.Verifier = simVerifierStrict() },
			refuser: roleClient,
			reason:  "attestation refused: " + tee.ErrInsecureRefused.Error(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sev, cev := newEvents(), newEvents()
			scfg := serverConfig(t, p, sev)
			tc.server(&scfg)
			srv := startServer(t, scfg)
			ccfg := clientConfig(t, p, cev)
			tc.client(&ccfg)

			_, err := call(t, srv.addr, ccfg)
			if err == nil {
				t.Fatal("RPC succeeded, want a refusal")
			}
			// What the gRPC caller sees names the reason.
			st := status.Convert(err)
			if st.Code() != codes.Unavailable {
				t.Errorf("RPC code %v, want Unavailable", st.Code())
			}
			wantContains(t, "RPC error", rpcDesc(err), tc.reason)
			wantContains(t, "RPC error", rpcDesc(err), "authentication handshake failed: atls: ")

			// Both sides report the same reason; the refused side got it
			// in a refusal frame.
			se, ce := refusalOf(t, sev.next(t).Err), refusalOf(t, cev.next(t).Err)
			if se.Reason != tc.reason || ce.Reason != tc.reason {
				t.Errorf("reasons: server %q, client %q; want %q", se.Reason, ce.Reason, tc.reason)
			}
			if se.ByPeer != (tc.refuser == roleClient) || ce.ByPeer != (tc.refuser == roleServer) {
				t.Errorf("ByPeer: server %v, client %v; refuser is the %s", se.ByPeer, ce.ByPeer, tc.refuser)
			}
			if se.Peer != clientID || ce.Peer != serverID {
				t.Errorf("peers: server saw %v, client saw %v", se.Peer, ce.Peer)
			}
			if srv.calls() != 0 {
				t.Error("the handler ran on a refused connection")
			}
		})
	}
}

func simVerifierStrict() tee.Verifier { return simulated.NewVerifier(tee.Options{}) }

func exporterFromState(t *testing.T, ai AuthInfo) []byte {
	t.Helper()
	ekm, err := ai.State.ExportKeyingMaterial(ExporterLabel, nil, exporterLen)
	if err != nil {
		t.Fatal(err)
	}
	return ekm
}

func spkiOf(t *testing.T, ai AuthInfo) [32]byte {
	t.Helper()
	if len(ai.State.PeerCertificates) == 0 {
		t.Fatal("no peer certificate")
	}
	return sha256.Sum256(ai.State.PeerCertificates[0].RawSubjectPublicKeyInfo)
}

// TestOptionalAttestation: a verifier without Required accepts a peer
// without evidence, and the handler sees no claims.
func TestOptionalAttestation(t *testing.T) {
	p := newPKI(t)
	scfg := serverConfig(t, p, newEvents())
	scfg.Verifier = simVerifier(goodM) // asks, does not require
	srv := startServer(t, scfg)
	ccfg := clientConfig(t, p, newEvents())
	ccfg.Verifier = simVerifier(goodM) // server has no issuer: fine
	pr, err := call(t, srv.addr, ccfg)
	if err != nil {
		t.Fatalf("RPC: %v", err)
	}
	if h := srv.last(t); !h.infoOK || h.claimsOK {
		t.Errorf("handler: info %v claims %v; want atls info without claims", h.infoOK, h.claimsOK)
	}
	if ai, ok := AuthInfoFromPeer(pr); !ok || ai.Attested() {
		t.Errorf("client: %+v, want unattested atls info", ai)
	}
}

// TestPKIPeerIdentity checks that pki.RequireRole works in handlers behind
// atls. It needs the change to pki.PeerIdentity described in README.md and
// skips until that change is in.
func TestPKIPeerIdentity(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, serverConfig(t, p, newEvents()))
	if _, err := call(t, srv.addr, clientConfig(t, p, newEvents())); err != nil {
		t.Fatal(err)
	}
	err := srv.last(t).roleErr
	if err != nil && strings.Contains(err.Error(), "is not TLS") {
		t.Skipf("pki.PeerIdentity does not accept atls.AuthInfo yet (see README.md): %v", err)
	}
	if err != nil {
		t.Fatalf("pki.RequireRole behind atls: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	p := newPKI(t)
	ev := newEvents()
	base := func() Config { return serverConfig(t, p, ev) }
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no TLS", func(c *Config) { c.TLS = nil }, "no TLS configuration"},
		{"TLS 1.2 allowed", func(c *Config) { c.TLS.MinVersion = 0 }, "TLS 1.3 only"},
		{"dynamic certificate", func(c *Config) {
			c.TLS.GetCertificate = nil
			c.TLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return nil, nil }
		}, "dynamically"},
		{"no client auth", func(c *Config) { c.TLS.ClientAuth = 0 }, "require and verify client certificates"},
		{"required without verifier", func(c *Config) { c.Required = true }, "no Verifier"},
		{"binding without issuer", func(c *Config) { c.Binding = []byte("x") }, "no Issuer"},
		{"binding too large", func(c *Config) { c.Issuer = simIssuer(t, goodM); c.Binding = make([]byte, MaxBindingSize+1) }, "exceeds"},
		{"other federation", func(c *Config) { c.Context.Federation = "lung" }, `not in the context's federation "lung"`},
		{"bad federation", func(c *Config) { c.Context.Federation = "" }, "federation"},
		{"negative timeout", func(c *Config) { c.HandshakeTimeout = -1 }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mod(&c)
			_, err := NewServerCredentials(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
	// Server credentials refuse to run a client handshake and vice versa.
	sc, err := NewServerCredentials(base())
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer b.Close()
	if _, _, err := sc.ClientHandshake(t.Context(), "x", a); err == nil {
		t.Error("server credentials ran a client handshake")
	}
}

func TestReportDataSeparatesInputs(t *testing.T) {
	exp := bytes.Repeat([]byte{1}, 32)
	spki := [32]byte{2}
	c := Context{Federation: testFed, Round: 3}
	base := reportData(roleServer, exp, spki, []byte("b"), c)
	others := map[string][64]byte{
		"role":       reportData(roleClient, exp, spki, []byte("b"), c),
		"exporter":   reportData(roleServer, bytes.Repeat([]byte{3}, 32), spki, []byte("b"), c),
		"key":        reportData(roleServer, exp, [32]byte{4}, []byte("b"), c),
		"binding":    reportData(roleServer, exp, spki, []byte("c"), c),
		"federation": reportData(roleServer, exp, spki, []byte("b"), Context{Federation: "lung", Round: 3}),
		"round":      reportData(roleServer, exp, spki, []byte("b"), Context{Federation: testFed, Round: 4}),
	}
	for name, rd := range others {
		if rd == base {
			t.Errorf("changing the %s does not change the report data", name)
		}
	}
}

func TestRefusalErrorText(t *testing.T) {
	e := &RefusalError{PeerRole: roleServer, Peer: serverID, Reason: "attestation refused: x"}
	if got := e.Error(); got != "atls: refusing server aggregator/agg@heart: attestation refused: x" {
		t.Errorf("local: %q", got)
	}
	e.ByPeer = true
	if got := e.Error(); got != "atls: refused by server aggregator/agg@heart: attestation refused: x" {
		t.Errorf("by peer: %q", got)
	}
	if e.Temporary() {
		t.Error("refusals are not temporary")
	}
	var target *RefusalError
	if !errors.As(fmt.Errorf("wrapped: %w", e), &target) {
		t.Error("errors.As")
	}
}

// TestClientStreamSeesServerClaims: on a client stream the server's claims
// are there as soon as the stream exists, before anything is sent (a
// participant needs the attested key before it seals its update).
func TestClientStreamSeesServerClaims(t *testing.T) {
	p := newPKI(t)
	scfg := serverConfig(t, p, newEvents())
	scfg.Issuer = simIssuer(t, goodM)
	scfg.Binding = []byte("hpke key")
	srv := startServer(t, scfg)
	ccfg := clientConfig(t, p, newEvents())
	ccfg.Verifier = simVerifier(goodM)
	ccfg.Required = true
	creds, err := NewClientCredentials(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	claims, ok := ClaimsFromContext(stream.Context())
	ai, _ := AuthInfoFromContext(stream.Context())
	if !ok || !bytes.Equal(claims.Measurement, goodM[:]) || string(ai.PeerBinding) != "hpke key" {
		t.Fatalf("client stream: claims %+v (%v), binding %q", claims, ok, ai.PeerBinding)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
}

func TestBindingFuncIsCalledPerHandshake(t *testing.T) {
	p := newPKI(t)
	scfg := serverConfig(t, p, newEvents())
	scfg.Issuer = simIssuer(t, goodM)
	var n atomic.Int64
	scfg.BindingFunc = func() []byte { return []byte(fmt.Sprintf("round %d", n.Add(1))) }
	srv := startServer(t, scfg)
	ccfg := clientConfig(t, p, newEvents())
	ccfg.Verifier = simVerifier(goodM)
	ccfg.Required = true
	for _, want := range []string{"round 1", "round 2"} {
		pr, err := call(t, srv.addr, ccfg)
		if err != nil {
			t.Fatal(err)
		}
		ai, ok := AuthInfoFromPeer(pr)
		if !ok || string(ai.PeerBinding) != want {
			t.Fatalf("peer binding %q, want %q", ai.PeerBinding, want)
		}
	}
	bad := scfg
	bad.Binding = []byte("static")
	if _, err := NewServerCredentials(bad); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("Binding and BindingFunc together: err = %v", err)
	}
}
