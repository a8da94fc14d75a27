// Package daemon holds what confed's three daemons share in main: signal
// handling, logger set-up and the common flags.
package daemon

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/version"
)

// Flags common to every daemon.
type Flags struct {
	Config               string
	InsecureSimulatedTEE bool
	LogLevel             string
	LogFormat            string
	Version              bool
}

// Register adds the common flags to fs.
func (f *Flags) Register(fs *flag.FlagSet, name string) {
	fs.StringVar(&f.Config, "config", "", "path of the "+name+" configuration file (YAML; see docs/config.md)")
	fs.BoolVar(&f.InsecureSimulatedTEE, "insecure-simulated-tee", false,
		"INSECURE: use/accept the simulated TEE, which gives no hardware protection (development and demos only)")
	fs.StringVar(&f.LogLevel, "log-level", "", "override the configured log level (debug, info, warn, error)")
	fs.StringVar(&f.LogFormat, "log-format", "", "override the configured log format (text, json)")
	fs.BoolVar(&f.Version, "version", false, "print the version and exit")
}

// Logger builds the daemon's logger; flags override the configured values.
func (f *Flags) Logger(w io.Writer, level, format, component string) (*slog.Logger, error) {
	if f.LogLevel != "" {
		level = f.LogLevel
	}
	if f.LogFormat != "" {
		format = f.LogFormat
	}
	log, err := logging.New(w, level, format, component)
	if err != nil {
		return nil, err
	}
	if f.InsecureSimulatedTEE {
		log = log.With(logging.KeyInsecure, true)
	}
	return log, nil
}

// Main parses flags, runs run with a context cancelled on SIGINT/SIGTERM,
// and exits with its status.
func Main(name string, setup func(fs *flag.FlagSet, f *Flags), run func(ctx context.Context, f *Flags) error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	var f Flags
	f.Register(fs, name)
	if setup != nil {
		setup(fs, &f)
	}
	_ = fs.Parse(os.Args[1:])
	if f.Version {
		fmt.Println(name, version.String())
		return
	}
	if f.Config == "" {
		fmt.Fprintf(os.Stderr, "%s: --config is required\n", name)
		fs.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, &f); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}
