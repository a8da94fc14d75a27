package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one top-level subcommand of confed.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"attest": {"verify and show TEE evidence, raw or from a ledger record (verify, show)", runAttest},
		"ca":     {"create the federation CA and issue credentials (init, issue)", runCA},
		"config": {"check configuration files (validate)", runConfig},
		"demo":   {"run a whole federation of four hospitals on this machine", runDemo},
		"ledger": {"read and verify the round ledger (verify, show)", runLedger},
		"rounds": {"list the federation's rounds (ls)", runRounds},
		"round":  {"show one round (show N)", runRound},
		"model":  {"download a published model (get)", runModel},
	}
}

// errUsage marks errors that are the caller's mistake (exit status 2).
var errUsage = errors.New("usage")

// Main runs the confed command line and returns the process exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "confed: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "confed %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "confed: confidential federated learning.\n\nUsage: confed COMMAND [ARGS]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'confed COMMAND -h' for a command's flags.")
}

// subcommand dispatches args[0] among subs.
func subcommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer,
	subs map[string]func(context.Context, []string, io.Writer, io.Writer) error) error {
	keys := make([]string, 0, len(subs))
	for k := range subs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(args) == 0 {
		return fmt.Errorf("%w: confed %s %s", errUsage, name, strings.Join(keys, "|"))
	}
	f, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown subcommand %q (want %s)", errUsage, args[0], strings.Join(keys, ", "))
	}
	return f(ctx, args[1:], stdout, stderr)
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and marks errors as usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// parseInterspersed parses args allowing flags after the positional
// arguments too ("round show 3 --format json"), and returns the
// positional arguments. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
