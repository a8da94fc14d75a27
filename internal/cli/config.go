package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/participant"
)

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "config", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"validate": configValidate,
	})
}

// configValidate checks configuration files of any kind.
func configValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed config validate", stderr)
	kind := fs.String("kind", "round", "kind of file: round, coordinator, aggregator or participant")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: confed config validate [--kind KIND] FILE...", errUsage)
	}
	load, ok := map[string]func(string) error{
		"round":       func(p string) error { _, err := roundconfig.Load(p); return err },
		"coordinator": func(p string) error { _, err := coordinator.Load(p); return err },
		"aggregator":  func(p string) error { _, err := aggregator.Load(p); return err },
		"participant": func(p string) error { _, err := participant.Load(p); return err },
	}[*kind]
	if !ok {
		return fmt.Errorf("%w: --kind %q: want round, coordinator, aggregator or participant", errUsage, *kind)
	}
	failed := 0
	for _, path := range fs.Args() {
		if err := load(path); err != nil {
			fmt.Fprintf(stdout, "%s: invalid\n%v\n", path, err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "%s: valid %s configuration\n", path, *kind)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files invalid", failed, fs.NArg())
	}
	return nil
}
