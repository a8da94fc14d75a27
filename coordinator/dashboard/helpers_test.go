package dashboard

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/confed/confed/internal/pki"
)

const testFederation = "dash"

const testToken = "correct-horse-battery-staple-0123456789"

// fakeSource is a fixed federation; changed signals subscribers.
type fakeSource struct {
	ov      Overview
	rounds  map[uint64]RoundDetail
	changed chan struct{}
	done    chan struct{}
}

func newFakeSource() *fakeSource {
	one := RoundSummary{Round: 1, State: "published", Included: 2, Expected: 2, Insecure: true,
		Submissions: []SubmissionView{{Participant: "a", Accepted: true, Included: true, NumExamples: 10,
			UpdateNorm: 0.5, Metrics: map[string]Number{"local_accuracy": 0.8}}}}
	return &fakeSource{
		ov: Overview{Federation: testFederation, PlannedRounds: 2, PublishedRounds: 1, Insecure: true,
			Rounds: []RoundSummary{one}},
		rounds:  map[uint64]RoundDetail{1: {RoundSummary: one, Federation: testFederation}},
		changed: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

func (f *fakeSource) Overview() (Overview, error) { return f.ov, nil }
func (f *fakeSource) Round(n uint64) (RoundDetail, error) {
	d, ok := f.rounds[n]
	if !ok {
		return RoundDetail{}, ErrNotFound
	}
	return d, nil
}
func (f *fakeSource) Backup(w io.Writer, size func(int64)) (int64, error) {
	size(int64(len("backup bytes")))
	n, err := w.Write([]byte("backup bytes"))
	return int64(n), err
}
func (f *fakeSource) VerifyLedger() LedgerCheck            { return LedgerCheck{OK: true, Records: 3} }
func (f *fakeSource) Subscribe() (<-chan struct{}, func()) { return f.changed, func() {} }
func (f *fakeSource) Done() <-chan struct{}                { return f.done }

// testPKI holds a federation CA and credentials issued by it.
type testPKI struct {
	dir   string
	ca    *pki.CA
	pool  *x509.CertPool
	files map[string]pki.Files
}

func newTestPKI(t *testing.T, federation string) *testPKI {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), federation, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: dir, ca: ca, files: map[string]pki.Files{}}
	p.issue(t, pki.RoleCoordinator, "coordinator", "127.0.0.1")
	caPEM, err := os.ReadFile(p.files["coordinator"].CA)
	if err != nil {
		t.Fatal(err)
	}
	p.pool = x509.NewCertPool()
	p.pool.AppendCertsFromPEM(caPEM)
	return p
}

func (p *testPKI) issue(t *testing.T, role pki.Role, name string, hosts ...string) pki.Files {
	t.Helper()
	f, err := pki.IssueToDir(p.ca, pki.IssueRequest{
		Identity: pki.Identity{Federation: p.ca.Federation, Role: role, Name: name},
		Hosts:    hosts, Validity: time.Hour,
	}, filepath.Join(p.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	p.files[name] = f
	return f
}

// startServer serves the dashboard of src over real TLS with the
// coordinator's certificate.
func startServer(t *testing.T, p *testPKI, src Source, tok Token) *httptest.Server {
	t.Helper()
	cfg, err := TLSConfig(p.files["coordinator"])
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(New(src, tok, testFederation, slog.New(slog.DiscardHandler)))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// client trusts the federation CA only, presents cert if given, and does
// not follow redirects.
func client(t *testing.T, p *testPKI, cert *pki.Files) *http.Client {
	t.Helper()
	tc := &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
	if cert != nil {
		c, err := tls.LoadX509KeyPair(cert.Cert, cert.Key)
		if err != nil {
			t.Fatal(err)
		}
		// Send the certificate even when the server's CA list does not
		// name its issuer, so that the server has to refuse it.
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: tc},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}
