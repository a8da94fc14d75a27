// Command confed-participant runs an institution's participant daemon.
package main

import (
	"context"
	"flag"
	"os"

	"github.com/confed/confed/internal/daemon"
	"github.com/confed/confed/participant"
)

func main() {
	var exitWhenFinished bool
	daemon.Main("confed-participant", func(fs *flag.FlagSet, _ *daemon.Flags) {
		fs.BoolVar(&exitWhenFinished, "exit-when-finished", false, "exit once the federation has run all its rounds")
	}, func(ctx context.Context, f *daemon.Flags) error {
		cfg, err := participant.Load(f.Config)
		if err != nil {
			return err
		}
		log, err := f.Logger(os.Stderr, cfg.Log.Level, cfg.Log.Format, "participant")
		if err != nil {
			return err
		}
		return participant.Run(ctx, cfg, participant.Options{
			InsecureSimulatedTEE: f.InsecureSimulatedTEE, ExitWhenFinished: exitWhenFinished, Logger: log,
		})
	})
}
