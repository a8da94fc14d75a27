package yamlcfg

// TLSFiles names the PEM files of a daemon's TLS identity. Its fields match
// pki.Files, so one converts to the other.
type TLSFiles struct {
	// Cert is this daemon's certificate chain.
	Cert string `yaml:"cert"`
	// Key is the private key of Cert.
	Key string `yaml:"key"`
	// CA is the federation's CA certificate, which every peer's certificate
	// must chain to.
	CA string `yaml:"ca"`
}

// Resolve returns t with its relative paths joined to dir (see ResolvePath).
func (t TLSFiles) Resolve(dir string) TLSFiles {
	return TLSFiles{Cert: ResolvePath(dir, t.Cert), Key: ResolvePath(dir, t.Key), CA: ResolvePath(dir, t.CA)}
}

// Validate checks that all three files are set and exist; key is where t
// sits in its config file ("tls"). Each error names the missing file.
func (t TLSFiles) Validate(l *Locator, key string) error {
	var errs []error
	for _, f := range []struct{ name, path, what string }{
		{"cert", t.Cert, "the path of this daemon's PEM certificate"},
		{"key", t.Key, "the path of this daemon's PEM private key"},
		{"ca", t.CA, "the path of the federation's PEM CA certificate"},
	} {
		k := key + "." + f.name
		if f.path == "" {
			errs = append(errs, l.Required(k, f.what))
			continue
		}
		errs = append(errs, CheckFile(l, k, f.path))
	}
	return Join(errs...)
}
