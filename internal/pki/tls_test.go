package pki

import (
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// fixture is a federation with a coordinator server and a participant.
type fixture struct {
	ca          *CA
	server      Files
	participant Files
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ca, _ := newTestCA(t, testFed)
	return fixture{
		ca:          ca,
		server:      issueFiles(t, ca, serverReq(RoleCoordinator, "coord")),
		participant: issueFiles(t, ca, IssueRequest{Identity: ident(RoleParticipant, "hospital-a")}),
	}
}

// serveOnce accepts one TLS connection on loopback, completes the handshake,
// writes "ok" and reports the server-side handshake error.
func serveOnce(t *testing.T, cfg *tls.Config) (string, <-chan error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errc := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := conn.(*tls.Conn).Handshake(); err != nil {
			errc <- err
			return
		}
		_, err = conn.Write([]byte("ok"))
		errc <- err
	}()
	return ln.Addr().String(), errc
}

// dial connects with cfg and reads the server's "ok"; in TLS 1.3 a refused
// client certificate only shows on the first read.
func dial(addr string, cfg *tls.Config) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	_, err = io.ReadFull(conn, buf)
	return err
}

func TestMutualTLS(t *testing.T) {
	fx := newFixture(t)
	srv, err := ServerTLS(fx.server)
	if err != nil {
		t.Fatalf("ServerTLS: %v", err)
	}
	cli, err := ClientTLS(fx.participant, "localhost")
	if err != nil {
		t.Fatalf("ClientTLS: %v", err)
	}
	addr, errc := serveOnce(t, srv)
	if err := dial(addr, cli); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
}

func TestServerRefusesClients(t *testing.T) {
	fx := newFixture(t)
	srv, err := ServerTLS(fx.server)
	if err != nil {
		t.Fatal(err)
	}
	roots := poolOf(fx.ca)
	now := time.Now()

	otherCA, _ := newTestCA(t, testFed)
	otherCert, otherKey := mustIssue(t, otherCA, IssueRequest{Identity: ident(RoleParticipant, "hospital-a")})
	expCert, expKey := mustIssue(t, fx.ca, IssueRequest{Identity: ident(RoleParticipant, "hospital-a"), Now: now.Add(-2 * year), Validity: year})
	futCert, futKey := mustIssue(t, fx.ca, IssueRequest{Identity: ident(RoleParticipant, "hospital-a"), Now: now.Add(year), Validity: year})
	forged := *fx.ca // same CA key, but signing an identity of another federation
	forged.Federation = "lung"
	fedCert, fedKey := mustIssue(t, &forged, IssueRequest{Identity: Identity{Federation: "lung", Role: RoleParticipant, Name: "h"}})
	goodCert, goodKey := mustIssue(t, fx.ca, IssueRequest{Identity: ident(RoleParticipant, "hospital-a")})

	tls12 := rawClient(t, goodCert, goodKey, roots)
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	tests := []struct {
		name      string
		cfg       *tls.Config
		serverErr string
	}{
		{"cert from another CA", rawClient(t, otherCert, otherKey, roots), "unknown authority"},
		{"expired cert", rawClient(t, expCert, expKey, roots), "expired"},
		{"not yet valid cert", rawClient(t, futCert, futKey, roots), "not yet valid"},
		{"cert of another federation", rawClient(t, fedCert, fedKey, roots), `not in federation "heart"`},
		{"no client cert", rawClient(t, nil, nil, roots), "didn't provide a certificate"},
		{"TLS 1.2", tls12, "unsupported versions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, errc := serveOnce(t, srv)
			if err := dial(addr, tt.cfg); err == nil {
				t.Error("client connected, want refusal")
			}
			wantErr(t, <-errc, tt.serverErr)
		})
	}
}

func TestClientRefusesServers(t *testing.T) {
	fx := newFixture(t)
	cli, err := ClientTLS(fx.participant, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	otherCA, _ := newTestCA(t, testFed)
	forged := *fx.ca
	forged.Federation = "lung"
	noHost := issueFiles(t, fx.ca, IssueRequest{Identity: ident(RoleCoordinator, "coord")})

	serverCfg := func(certPEM, keyPEM []byte) *tls.Config {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS13}
	}
	otherCert, otherKey := mustIssue(t, otherCA, serverReq(RoleCoordinator, "coord"))
	fedReq := serverReq(RoleCoordinator, "coord")
	fedReq.Identity.Federation = "lung"
	fedCert, fedKey := mustIssue(t, &forged, fedReq)
	noHostCfg := serverCfg(mustRead(t, noHost.Cert), mustRead(t, noHost.Key))
	tls12Cert, tls12Key := mustIssue(t, fx.ca, serverReq(RoleCoordinator, "coord"))
	tls12 := serverCfg(tls12Cert, tls12Key)
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	tests := []struct {
		name string
		srv  *tls.Config
		want string
	}{
		{"server from another CA", serverCfg(otherCert, otherKey), "unknown authority"},
		{"server of another federation", serverCfg(fedCert, fedKey), `not in federation "heart"`},
		{"server without our host name", noHostCfg, "localhost"},
		{"TLS 1.2 server", tls12, "protocol version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, errc := serveOnce(t, tt.srv)
			wantErr(t, dial(addr, cli), tt.want)
			<-errc
		})
	}
}

func TestTLSConfigs(t *testing.T) {
	fx := newFixture(t)
	srv, err := ServerTLS(fx.server)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ClientTLS(fx.participant, "coord.example.org")
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*tls.Config{"server": srv, "client": cli} {
		if cfg.MinVersion != tls.VersionTLS13 || cfg.MaxVersion != tls.VersionTLS13 {
			t.Errorf("%s: versions %x-%x, want TLS 1.3 only", name, cfg.MinVersion, cfg.MaxVersion)
		}
		if cfg.InsecureSkipVerify || len(cfg.Certificates) != 1 || cfg.VerifyConnection == nil {
			t.Errorf("%s: insecure or incomplete config", name)
		}
	}
	if srv.ClientAuth != tls.RequireAndVerifyClientCert || srv.ClientCAs == nil {
		t.Errorf("server ClientAuth = %v", srv.ClientAuth)
	}
	if cli.RootCAs == nil || cli.ServerName != "coord.example.org" {
		t.Errorf("client RootCAs/ServerName not set")
	}
}

func TestLoadErrors(t *testing.T) {
	fx := newFixture(t)
	otherCA, otherDir := newTestCA(t, testFed)
	other := issueFiles(t, otherCA, IssueRequest{Identity: ident(RoleParticipant, "hospital-a")})
	expired := issueFiles(t, fx.ca, IssueRequest{Identity: ident(RoleParticipant, "old"), Now: time.Now().Add(-2 * year), Validity: year})
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	mustWrite(t, garbage, []byte("not pem"))
	bothCAs := filepath.Join(dir, "both.crt")
	mustWrite(t, bothCAs, append(mustRead(t, fx.participant.CA), mustRead(t, filepath.Join(otherDir, CACertFile))...))
	lungCA, _ := newTestCA(t, "lung")
	mixed := filepath.Join(dir, "mixed.crt")
	mustWrite(t, mixed, append(mustRead(t, fx.participant.CA), encodeCertPEM(lungCA.Cert.Raw)...))

	with := func(mod func(*Files)) Files {
		f := fx.participant
		mod(&f)
		return f
	}
	tests := []struct {
		name string
		f    Files
		want string
	}{
		{"ok", fx.participant, ""},
		{"two CAs of one federation", with(func(f *Files) { f.CA = bothCAs }), ""},
		{"missing cert field", with(func(f *Files) { f.Cert = "" }), "cert is not set"},
		{"missing key file", with(func(f *Files) { f.Key = filepath.Join(dir, "nope.key") }), "nope.key"},
		{"directory as ca", with(func(f *Files) { f.CA = dir }), "not a regular file"},
		{"garbage cert", with(func(f *Files) { f.Cert = garbage }), garbage + ": no PEM data"},
		{"garbage key", with(func(f *Files) { f.Key = garbage }), garbage + ": no PEM data"},
		{"garbage ca", with(func(f *Files) { f.CA = garbage }), garbage + ": no PEM data"},
		{"leaf as ca", with(func(f *Files) { f.CA = fx.server.Cert }), fx.server.Cert + ": not a CA"},
		{"CAs of two federations", with(func(f *Files) { f.CA = mixed }), "two federations"},
		{"key of another cert", with(func(f *Files) { f.Key = fx.server.Key }), fx.server.Key + " does not match"},
		{"cert of another CA", with(func(f *Files) { f.Cert, f.Key = other.Cert, other.Key }), "does not verify"},
		{"ca file as cert", with(func(f *Files) { f.Cert, f.Key = f.CA, filepath.Join(otherDir, CAKeyFile) }), "does not match"},
		{"expired cert", expired, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ServerTLS(tt.f)
			wantErr(t, err, tt.want)
			_, err = ClientTLS(tt.f, "localhost")
			wantErr(t, err, tt.want)
			_, err = LocalIdentity(tt.f)
			wantErr(t, err, tt.want)
		})
	}
}

func TestFilesValidate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.pem")
	mustWrite(t, p, []byte("x"))
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		f    Files
		want string
	}{
		{"all present", Files{Cert: p, Key: p, CA: p}, ""},
		{"no cert", Files{Key: p, CA: p}, "cert is not set"},
		{"no key", Files{Cert: p, CA: p}, "key is not set"},
		{"no ca", Files{Cert: p, Key: p}, "ca is not set"},
		{"missing key", Files{Cert: p, Key: missing, CA: p}, "key: stat " + missing},
		{"missing ca", Files{Cert: p, Key: p, CA: missing}, "ca: stat " + missing},
		{"dir", Files{Cert: dir, Key: p, CA: p}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.f.Validate(), tt.want)
		})
	}
}

func mustIssue(t *testing.T, ca *CA, req IssueRequest) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(req)
	if err != nil {
		t.Fatalf("Issue(%s): %v", req.Identity, err)
	}
	return certPEM, keyPEM
}
