package secagg

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/pki"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Limits of the session parameters a party accepts from the coordinator.
const (
	// SeedLen is the length of a round's public seed.
	SeedLen = 32
	// maxCertificateLen bounds one roster certificate's DER.
	maxCertificateLen = 16 << 10
)

// Session is what a party needs to take part in one round's session, as
// the coordinator sent it (confedv1.SecAggParams) and the round's context.
type Session struct {
	Federation string
	Round      uint64
	Params     *confedv1.SecAggParams
	// FixedPoint is the round's ring (aggregation.fixed_point).
	FixedPoint fixedpoint.Params
	// Length is the number of parameters of the model.
	Length int
	// Roots are the federation CA's certificates.
	Roots *x509.CertPool
	// Now is when the roster's certificates must be valid.
	Now time.Time
}

// Build checks the session's parameters and returns the Config every party
// of the round derives from them: each roster certificate must verify
// against Roots and name a participant of the federation, once; the
// session id binds the federation, the round and the round's seed.
func (s Session) Build() (Config, error) {
	p := s.Params
	if p == nil {
		return Config{}, fmt.Errorf("secagg: round %d has no session parameters", s.Round)
	}
	if len(p.GetRoundSeed()) != SeedLen {
		return Config{}, fmt.Errorf("secagg: round seed of %d bytes, want %d", len(p.GetRoundSeed()), SeedLen)
	}
	if n := len(p.GetRosterCertificates()); n > MaxParticipants {
		return Config{}, fmt.Errorf("secagg: roster of %d certificates, at most %d", n, MaxParticipants)
	}
	cfg := Config{Threshold: int(p.GetThreshold()), Degree: int(p.GetNeighbourDegree()), Params: s.FixedPoint, Length: s.Length}
	for i, der := range p.GetRosterCertificates() {
		peer, err := s.peer(der)
		if err != nil {
			return Config{}, fmt.Errorf("secagg: roster certificate %d: %w", i, err)
		}
		cfg.Peers = append(cfg.Peers, peer)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	id, err := SessionID(s.Federation, s.Round, p.GetRoundSeed(), cfg)
	if err != nil {
		return Config{}, err
	}
	cfg.Session = id
	return cfg, nil
}

// peer verifies one roster certificate and returns its participant.
func (s Session) peer(der []byte) (Peer, error) {
	if len(der) == 0 || len(der) > maxCertificateLen {
		return Peer{}, fmt.Errorf("%d bytes, want 1 to %d", len(der), maxCertificateLen)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return Peer{}, err
	}
	if s.Roots == nil {
		return Peer{}, fmt.Errorf("no federation CA to verify %q against", c.Subject.CommonName)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: s.Roots, CurrentTime: s.Now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return Peer{}, fmt.Errorf("does not verify against the federation CA: %w", err)
	}
	id, err := pki.IdentityFromCert(c)
	if err != nil {
		return Peer{}, err
	}
	if id.Role != pki.RoleParticipant || id.Federation != s.Federation {
		return Peer{}, fmt.Errorf("%s is not a participant of federation %q", id, s.Federation)
	}
	if _, err := publicKeyBytes(c.PublicKey); err != nil {
		return Peer{}, fmt.Errorf("%s: %w", id, err)
	}
	return Peer{Name: id.Name, Key: c.PublicKey}, nil
}

// IndexOf returns the roster id of the participant named name, or -1.
func (c Config) IndexOf(name string) int {
	for i, p := range c.Peers {
		if p.Name == name {
			return i
		}
	}
	return -1
}
