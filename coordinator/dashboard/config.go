package dashboard

import (
	"strings"

	"github.com/confed/confed/internal/yamlcfg"
)

// Config is the dashboard section of the coordinator's configuration.
// The dashboard runs only when the section is present.
type Config struct {
	// Listen is the host:port of the HTTPS dashboard. Required.
	Listen string `yaml:"listen"`
	// TokenSHA256File names a file holding the lowercase hex SHA-256 of
	// the operator token (the token itself is kept elsewhere).
	TokenSHA256File string `yaml:"token_sha256_file"`
	// TokenFile names the file holding the operator token. If it does not
	// exist, the coordinator generates a token at start and writes it there
	// with mode 0600; an existing file must not be readable by group or
	// others.
	TokenFile string `yaml:"token_file"`
}

// Resolve returns c with its relative paths joined to dir.
func (c Config) Resolve(dir string) Config {
	c.TokenSHA256File = yamlcfg.ResolvePath(dir, c.TokenSHA256File)
	c.TokenFile = yamlcfg.ResolvePath(dir, c.TokenFile)
	return c
}

// Validate checks c; key is where c sits in its file ("dashboard"). At most
// one of token_sha256_file and token_file may be set; with neither, only
// operator client certificates are accepted.
func (c Config) Validate(l *yamlcfg.Locator, key string) error {
	errs := []error{yamlcfg.CheckAddress(l, key+".listen", c.Listen, true)}
	switch {
	case c.TokenSHA256File != "" && c.TokenFile != "":
		errs = append(errs, l.Errorf(key+".token_file",
			"set either token_sha256_file or token_file, not both"))
	case c.TokenSHA256File != "":
		err := yamlcfg.CheckFile(l, key+".token_sha256_file", c.TokenSHA256File)
		if err == nil {
			if _, herr := readTokenHash(c.TokenSHA256File); herr != nil {
				err = l.Errorf(key+".token_sha256_file", "%s", strings.TrimPrefix(herr.Error(), "dashboard: "))
			}
		}
		errs = append(errs, err)
	case c.TokenFile != "":
		errs = append(errs, yamlcfg.CheckCreatable(l, key+".token_file", c.TokenFile, false))
	}
	return yamlcfg.Join(errs...)
}
