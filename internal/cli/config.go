package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant"
)

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "config", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"validate": configValidate,
	})
}

// configKinds are the kinds of configuration file, with their loaders.
var configKinds = map[string]func(string) error{
	"round":       func(p string) error { _, err := roundconfig.Load(p); return err },
	"coordinator": func(p string) error { _, err := coordinator.Load(p); return err },
	"aggregator":  func(p string) error { _, err := aggregator.Load(p); return err },
	"participant": func(p string) error { _, err := participant.Load(p); return err },
}

// configResult is one file's verdict in --format json.
type configResult struct {
	File     string          `json:"file"`
	Kind     string          `json:"kind"`
	Valid    bool            `json:"valid"`
	Problems []configProblem `json:"problems"`
}

// configProblem is one problem with a file: where and what.
type configProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

// configValidate checks configuration files of any kind.
func configValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed config validate", stderr)
	kind := fs.String("kind", "round", "kind of file: round, coordinator, aggregator or participant")
	format := addFormat(fs)
	refuseFormatO(fs)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: confed config validate [--kind KIND] [--format text|json] FILE...", errUsage)
	}
	load, ok := configKinds[*kind]
	if !ok {
		return fmt.Errorf("%w: --kind %q: want round, coordinator, aggregator or participant", errUsage, *kind)
	}
	results := make([]configResult, 0, len(files))
	failed := 0
	for _, path := range files {
		err := load(path)
		if err != nil {
			failed++
		}
		results = append(results, configResult{File: path, Kind: *kind, Valid: err == nil, Problems: problemsOf(err)})
		if *format == formatText {
			printConfigResult(stdout, path, *kind, err)
		}
	}
	if *format == formatJSON {
		if err := writeJSON(stdout, map[string]any{"files": results}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files invalid", failed, len(files))
	}
	return nil
}

func printConfigResult(w io.Writer, path, kind string, err error) {
	if err != nil {
		fmt.Fprintf(w, "%s: invalid\n%v\n", path, err)
		return
	}
	fmt.Fprintf(w, "%s: valid %s configuration\n", path, kind)
}

// problemsOf flattens a loader's error into its problems, keeping the
// file, line and key of each yamlcfg.FieldError.
func problemsOf(err error) []configProblem {
	out := []configProblem{}
	var walk func(error)
	walk = func(err error) {
		var fe *yamlcfg.FieldError
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if errors.As(err, &fe) {
			out = append(out, configProblem{File: fe.File, Line: fe.Line, Key: fe.Key, Message: fe.Msg})
			return
		}
		out = append(out, configProblem{Message: err.Error()})
	}
	if err != nil {
		walk(err)
	}
	return out
}
