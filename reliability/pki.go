package reliability

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/confed/confed/internal/pki"
)

// federation is the name of every federation the suite runs.
const federation = "reliability"

// PKI is a federation CA in a directory and the credentials it issued.
type PKI struct {
	Dir   string
	ca    *pki.CA
	mu    sync.Mutex
	files map[string]pki.Files
}

// NewPKI creates a CA in dir/ca.
func NewPKI(dir string) (*PKI, error) {
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), federation, time.Now(), 48*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("reliability: CA: %w", err)
	}
	return &PKI{Dir: dir, ca: ca, files: map[string]pki.Files{}}, nil
}

// Issue returns name's credentials, issuing them (with role) on first use.
func (p *PKI) Issue(role pki.Role, name string) (pki.Files, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.files[name]; ok {
		return f, nil
	}
	f, err := pki.IssueToDir(p.ca, pki.IssueRequest{
		Identity: pki.Identity{Federation: federation, Role: role, Name: name},
		Hosts:    []string{"127.0.0.1"}, Validity: 24 * time.Hour, Now: time.Now(),
	}, filepath.Join(p.Dir, "pki", name))
	if err != nil {
		return pki.Files{}, fmt.Errorf("reliability: issuing %s: %w", name, err)
	}
	p.files[name] = f
	return f, nil
}

// ClientTLS is name's client TLS configuration towards a server of role.
func (p *PKI) ClientTLS(role pki.Role, name string, server pki.Role) (*tls.Config, error) {
	f, err := p.Issue(role, name)
	if err != nil {
		return nil, err
	}
	return pki.ClientTLSFor(f, "127.0.0.1", server)
}

// tempDir makes a fresh directory for one scenario.
func tempDir(prefix string) (string, error) {
	return os.MkdirTemp("", "confed-rel-"+prefix+"-")
}
