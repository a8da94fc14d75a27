package atls

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
)

const testFed = "heart"

var (
	insecureOn = tee.Options{AllowInsecureSimulated: true}
	goodM      = [32]byte{1, 1, 1, 1}
	badM       = [32]byte{2, 2, 2, 2}
)

// testPKI is a federation CA with an aggregator (server), a participant
// (client) and a second participant (the attacker's own client identity).
type testPKI struct {
	ca       *pki.CA
	server   pki.Files
	client   pki.Files
	attacker pki.Files
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, err := pki.InitCA(filepath.Join(t.TempDir(), "ca"), testFed, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(role pki.Role, name string, hosts ...string) pki.Files {
		f, err := pki.IssueToDir(ca, pki.IssueRequest{
			Identity: pki.Identity{Federation: testFed, Role: role, Name: name},
			Hosts:    hosts,
		}, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	return &testPKI{
		ca:       ca,
		server:   issue(pki.RoleAggregator, "agg", "localhost", "127.0.0.1"),
		client:   issue(pki.RoleParticipant, "cleveland"),
		attacker: issue(pki.RoleParticipant, "mallory"),
	}
}

var (
	serverID = pki.Identity{Federation: testFed, Role: pki.RoleAggregator, Name: "agg"}
	clientID = pki.Identity{Federation: testFed, Role: pki.RoleParticipant, Name: "cleveland"}
)

func simIssuer(t *testing.T, m [32]byte) tee.Issuer {
	t.Helper()
	iss, err := simulated.NewIssuerWithMeasurement(insecureOn, m)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func simVerifier(allowed ...[32]byte) tee.Verifier {
	ms := make([][]byte, len(allowed))
	for i := range allowed {
		ms[i] = allowed[i][:]
	}
	return simulated.NewVerifier(insecureOn, ms...)
}

// events collects OnHandshake events.
type events struct{ ch chan Event }

func newEvents() *events { return &events{ch: make(chan Event, 64)} }

func (e *events) hook(ev Event) { e.ch <- ev }

func (e *events) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-e.ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake event within 10s")
		return Event{}
	}
}

func serverConfig(t *testing.T, p *testPKI, ev *events) Config {
	t.Helper()
	tc, err := pki.ServerTLS(p.server)
	if err != nil {
		t.Fatal(err)
	}
	return Config{TLS: tc, Context: Context{Federation: testFed, Round: 3}, OnHandshake: ev.hook}
}

func clientConfigFor(t *testing.T, f pki.Files, ev *events) Config {
	t.Helper()
	tc, err := pki.ClientTLSFor(f, "", pki.RoleAggregator)
	if err != nil {
		t.Fatal(err)
	}
	return Config{TLS: tc, Context: Context{Federation: testFed, Round: 3}, OnHandshake: ev.hook}
}

func clientConfig(t *testing.T, p *testPKI, ev *events) Config {
	return clientConfigFor(t, p.client, ev)
}

// seen is what the gRPC handler saw about its caller.
type seen struct {
	info     AuthInfo
	infoOK   bool
	claims   *tee.Claims
	claimsOK bool
	roleErr  error
}

type testServer struct {
	addr string
	mu   sync.Mutex
	seen []seen
}

func (s *testServer) last(t *testing.T) seen {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		t.Fatal("the handler was not called")
	}
	return s.seen[len(s.seen)-1]
}

func (s *testServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// startServer serves the gRPC health service with cfg on a real TCP socket
// and records what the handler sees.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	creds, err := NewServerCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{}
	srv := grpc.NewServer(grpc.Creds(creds), grpc.UnaryInterceptor(
		func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			var v seen
			v.info, v.infoOK = AuthInfoFromContext(ctx)
			v.claims, v.claimsOK = ClaimsFromContext(ctx)
			_, v.roleErr = pki.RequireRole(ctx, pki.RoleParticipant)
			s.mu.Lock()
			s.seen = append(s.seen, v)
			s.mu.Unlock()
			return h(ctx, req)
		}))
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

// call makes one health check RPC to addr with client credentials cfg and
// returns the client-side peer.
func call(t *testing.T, addr string, cfg Config) (*peer.Peer, error) {
	t.Helper()
	creds, err := NewClientCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var p peer.Peer
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p))
	return &p, err
}

// rpcDesc returns the handshake error in an RPC's status message, which
// gRPC quotes: connection error: desc = "transport: ...".
func rpcDesc(err error) string {
	msg := status.Convert(err).Message()
	if i := strings.Index(msg, "desc = "); i >= 0 {
		if u, err := strconv.Unquote(msg[i+len("desc = "):]); err == nil {
			return u
		}
	}
	return msg
}

// refusalOf returns the *RefusalError in err.
func refusalOf(t *testing.T, err error) *RefusalError {
	t.Helper()
	var re *RefusalError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a refusal", err)
	}
	return re
}

func wantContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%s = %q\nwant it to contain %q", what, got, want)
	}
}

// fakeServer accepts TLS connections with the aggregator's own certificate
// and key (an attacker who stole them, or an honest server without atls)
// and runs script on the first one; later connections are closed at once.
type fakeServer struct {
	addr string
	done chan error
}

func startFakeServer(t *testing.T, f pki.Files, script func(*tls.Conn) error) *fakeServer {
	t.Helper()
	tc, err := pki.ServerTLS(f)
	if err != nil {
		t.Fatal(err)
	}
	tc.NextProtos = []string{"h2"} // gRPC clients insist on ALPN
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{addr: ln.Addr().String(), done: make(chan error, 1)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		first := true
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !first {
				c.Close()
				continue
			}
			first = false
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				tc := tls.Server(c, tc)
				_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
				if err := tc.Handshake(); err != nil {
					fs.done <- err
					return
				}
				fs.done <- script(tc)
			}()
		}
	}()
	return fs
}

func (fs *fakeServer) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-fs.done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("fake server script did not finish")
		return nil
	}
}

// dialTLS connects to a real atls server as a plain TLS client with f.
func dialTLS(t *testing.T, addr string, f pki.Files) *tls.Conn {
	t.Helper()
	tc, err := pki.ClientTLS(f, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	tc.NextProtos = []string{"h2"}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// frameBytes encodes one frame.
func frameBytes(t *testing.T, typ frameType, payload []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeFrame(&b, typ, payload); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readRefusal reads one frame from c and returns its reason; it fails the
// test unless the frame is a refusal.
func readRefusal(c net.Conn) (string, error) {
	typ, p, err := readFrame(c)
	if err != nil {
		return "", err
	}
	if typ != frameRefusal {
		return "", errors.New("got a " + typ.String() + " frame, want a refusal")
	}
	return parseRefusal(p)
}

// exporterOf returns the atls exporter value of a TLS connection.
func exporterOf(t *testing.T, c *tls.Conn) []byte {
	t.Helper()
	st := c.ConnectionState()
	ekm, err := st.ExportKeyingMaterial(ExporterLabel, nil, exporterLen)
	if err != nil {
		t.Fatal(err)
	}
	return ekm
}
