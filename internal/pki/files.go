package pki

import (
	"fmt"
	"os"
)

// Files names the PEM files of a peer's TLS identity: its certificate, its
// private key and the federation's CA certificate.
type Files struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	CA   string `yaml:"ca"`
}

// Validate checks that all three files are set and exist as regular files;
// the error names the missing one.
func (f Files) Validate() error {
	for _, c := range []struct{ what, path string }{
		{"cert", f.Cert}, {"key", f.Key}, {"ca", f.CA},
	} {
		if c.path == "" {
			return fmt.Errorf("pki: tls files: %s is not set", c.what)
		}
		st, err := os.Stat(c.path)
		if err != nil {
			return fmt.Errorf("pki: tls files: %s: %w", c.what, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("pki: tls files: %s: %s is not a regular file", c.what, c.path)
		}
	}
	return nil
}
