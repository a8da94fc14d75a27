package secagg

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/pki"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// rosterCA issues participant certificates of federation "fed" (and, for
// the negative cases, an aggregator's and another CA's).
type rosterCA struct {
	roots *x509.CertPool
	certs map[string][]byte // name → DER
	keys  map[string]*ecdsa.PrivateKey
}

func newRosterCA(t testing.TB, names ...string) *rosterCA {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), "fed", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := &rosterCA{roots: x509.NewCertPool(), certs: map[string][]byte{}, keys: map[string]*ecdsa.PrivateKey{}}
	issue := func(role pki.Role, name string) {
		files, err := pki.IssueToDir(ca, pki.IssueRequest{Identity: pki.Identity{Federation: "fed", Role: role, Name: name},
			Validity: time.Hour, Now: now}, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		r.certs[name] = readPEM(t, files.Cert)
		key, err := x509.ParsePKCS8PrivateKey(readPEM(t, files.Key))
		if err != nil {
			key, err = x509.ParseECPrivateKey(readPEM(t, files.Key))
		}
		if err != nil {
			t.Fatal(err)
		}
		r.keys[name] = key.(*ecdsa.PrivateKey)
		if !r.roots.AppendCertsFromPEM(pemOf(t, files.CA)) {
			t.Fatal("no CA certificate")
		}
	}
	for _, n := range names {
		issue(pki.RoleParticipant, n)
	}
	issue(pki.RoleAggregator, "aggregator")
	return r
}

func pemOf(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readPEM(t testing.TB, path string) []byte {
	blk, _ := pem.Decode(pemOf(t, path))
	if blk == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	return blk.Bytes
}

func (r *rosterCA) session(names ...string) Session {
	p := &confedv1.SecAggParams{Threshold: 2, RoundSeed: bytes.Repeat([]byte{7}, SeedLen)}
	for _, n := range names {
		p.RosterCertificates = append(p.RosterCertificates, r.certs[n])
	}
	return Session{Federation: "fed", Round: 3, Params: p, Length: 5, Roots: r.roots, Now: time.Now(),
		FixedPoint: fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 12, MaxWeight: 100, MaxParticipants: 3}}
}

func TestSessionBuild(t *testing.T) {
	r := newRosterCA(t, "a", "b", "c")
	other := newRosterCA(t, "a")
	s := r.session("a", "b", "c")
	cfg, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IndexOf("b") != 1 || cfg.IndexOf("z") != -1 || !cfg.Peers[2].Key.(*ecdsa.PublicKey).Equal(&r.keys["c"].PublicKey) {
		t.Errorf("roster %+v", cfg.Peers)
	}
	again, _ := s.Build()
	s2 := r.session("a", "b", "c")
	s2.Round = 4
	next, _ := s2.Build()
	if again.Session != cfg.Session || next.Session == cfg.Session {
		t.Error("the session id must depend on the round and nothing random")
	}
	if _, err := NewClient(cfg, 0, r.keys["a"]); err != nil {
		t.Errorf("a client of the built session: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Session)
		want   string
	}{
		{"no params", func(s *Session) { s.Params = nil }, "no session parameters"},
		{"short seed", func(s *Session) { s.Params.RoundSeed = s.Params.RoundSeed[:8] }, "round seed of 8 bytes"},
		{"other CA", func(s *Session) { s.Params.RosterCertificates[0] = other.certs["a"] }, "does not verify against the federation CA"},
		{"aggregator", func(s *Session) { s.Params.RosterCertificates[1] = r.certs["aggregator"] }, "is not a participant"},
		{"other federation", func(s *Session) { s.Federation = "other" }, `is not a participant of federation "other"`},
		{"duplicate", func(s *Session) { s.Params.RosterCertificates[2] = r.certs["a"] }, "duplicate name"},
		{"garbage", func(s *Session) { s.Params.RosterCertificates[0] = []byte("not DER") }, "roster certificate 0"},
		{"empty", func(s *Session) { s.Params.RosterCertificates[0] = nil }, "0 bytes"},
		{"no roots", func(s *Session) { s.Roots = nil }, "no federation CA"},
		{"expired", func(s *Session) { s.Now = time.Now().Add(2 * time.Hour) }, "does not verify"},
		{"unsafe threshold", func(s *Session) { s.Params.Threshold = 1 }, "must exceed half"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := r.session("a", "b", "c")
			tt.change(&s)
			if _, err := s.Build(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build: %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzSessionBuild feeds Build arbitrary roster certificates and seeds:
// it must refuse or return a valid Config, never panic.
func FuzzSessionBuild(f *testing.F) {
	r := newRosterCA(f, "a", "b", "c")
	f.Add(r.certs["a"], r.certs["b"], bytes.Repeat([]byte{1}, SeedLen), uint32(2))
	f.Add([]byte{0x30, 0x82}, r.certs["c"], []byte("short"), uint32(3))
	f.Fuzz(func(t *testing.T, c1, c2, seed []byte, threshold uint32) {
		s := r.session()
		s.Params.RosterCertificates = [][]byte{c1, c2, r.certs["c"]}
		s.Params.RoundSeed, s.Params.Threshold = seed, threshold
		cfg, err := s.Build()
		if err == nil {
			if verr := cfg.Validate(); verr != nil || len(cfg.Peers) != 3 {
				t.Fatalf("Build accepted an invalid roster: %v", verr)
			}
		}
	})
}
