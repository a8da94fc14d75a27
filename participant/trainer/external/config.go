package external

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/confed/confed/internal/yamlcfg"
)

// Limits of the configuration.
const (
	maxTimeout = yamlcfg.Duration(24 * time.Hour)
	maxArgs    = 64
	maxArgLen  = 4096
	maxEnv     = 64
)

// Config is the participant configuration's trainer.external section.
type Config struct {
	// Command is the trainer's executable: an absolute path or one relative
	// to the configuration file. It is run directly (no shell, no PATH
	// look-up). Required; must be an executable regular file.
	Command string `yaml:"command"`
	// Args are passed to Command as written (no shell expansion). The
	// trainer runs in its work directory, so paths in Args should be
	// absolute.
	Args []string `yaml:"args"`
	// Timeout bounds one run; the trainer's whole process group is killed
	// when it passes (or when the round's deadline passes first). Required,
	// at most 24h.
	Timeout yamlcfg.Duration `yaml:"timeout"`
	// Env lists the names of the daemon's environment variables passed on
	// to the trainer (such as PATH, LANG or OMP_NUM_THREADS); nothing else
	// of the daemon's environment is. CONFED_*, HOME and TMPDIR are set by
	// the daemon and cannot be listed.
	Env []string `yaml:"env"`
	// WorkDir is the directory under which each run gets a fresh private
	// (0700) work directory, removed after the run. Optional: the system's
	// temporary directory by default. If set, it must exist.
	WorkDir string `yaml:"work_dir"`
}

// Resolve returns c with Command and WorkDir resolved against dir, the
// configuration file's directory. A nil c stays nil.
func (c *Config) Resolve(dir string) *Config {
	if c == nil {
		return nil
	}
	out := *c
	out.Command = yamlcfg.ResolvePath(dir, c.Command)
	out.WorkDir = yamlcfg.ResolvePath(dir, c.WorkDir)
	return &out
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks every key of the section named key (e.g.
// "trainer.external"), including that the command is an executable file
// and that the work directory exists.
func (c Config) Validate(l *yamlcfg.Locator, key string) error {
	var timeout, workDir error
	if c.Timeout == 0 {
		timeout = l.Required(key+".timeout", "a duration such as 10m")
	} else {
		timeout = yamlcfg.CheckDuration(l, key+".timeout", c.Timeout, maxTimeout)
	}
	if c.WorkDir != "" {
		workDir = checkDir(l, key+".work_dir", c.WorkDir)
	}
	return yamlcfg.Join(checkCommand(l, key+".command", c.Command), c.checkArgs(l, key+".args"),
		timeout, c.checkEnv(l, key+".env"), workDir)
}

// checkCommand requires an executable regular file.
func checkCommand(l *yamlcfg.Locator, key, path string) error {
	if path == "" {
		return l.Required(key, "the path of the trainer's executable, such as /usr/bin/python3")
	}
	if err := yamlcfg.CheckFile(l, key, path); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return l.Errorf(key, "cannot use %q: %v", path, err)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return l.Errorf(key, "%q is not executable (mode %s)", path, st.Mode().Perm())
	}
	return nil
}

func (c Config) checkArgs(l *yamlcfg.Locator, key string) error {
	if len(c.Args) > maxArgs {
		return l.Errorf(key, "at most %d arguments, got %d", maxArgs, len(c.Args))
	}
	var errs []error
	for i, a := range c.Args {
		k := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case len(a) > maxArgLen:
			errs = append(errs, l.Errorf(k, "at most %d bytes, got %d", maxArgLen, len(a)))
		case strings.ContainsRune(a, 0):
			errs = append(errs, l.Errorf(k, "must not contain a NUL byte"))
		}
	}
	return yamlcfg.Join(errs...)
}

func (c Config) checkEnv(l *yamlcfg.Locator, key string) error {
	if len(c.Env) > maxEnv {
		return l.Errorf(key, "at most %d names, got %d", maxEnv, len(c.Env))
	}
	var errs []error
	seen := map[string]bool{}
	for i, name := range c.Env {
		k := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case !envName.MatchString(name):
			errs = append(errs, l.Errorf(k, "expected an environment variable name (letters, digits, _), got %q", name))
		case reservedEnv(name):
			errs = append(errs, l.Errorf(k, "%s is set by the daemon (CONFED_*, HOME, TMPDIR) and cannot be passed on", name))
		case seen[name]:
			errs = append(errs, l.Errorf(k, "%s is listed twice", name))
		}
		seen[name] = true
	}
	return yamlcfg.Join(errs...)
}

func reservedEnv(name string) bool {
	return strings.HasPrefix(name, "CONFED_") || name == "HOME" || name == "TMPDIR"
}

func checkDir(l *yamlcfg.Locator, key, path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return l.Errorf(key, "directory %q does not exist", path)
	case err != nil:
		return l.Errorf(key, "cannot use directory %q: %v", path, err)
	case !st.IsDir():
		return l.Errorf(key, "%q is not a directory", path)
	}
	return nil
}
