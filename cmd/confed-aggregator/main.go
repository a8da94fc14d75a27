// Command confed-aggregator runs the aggregator, the part of confed that
// runs inside a TEE.
package main

import (
	"context"
	"os"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/internal/daemon"
)

func main() {
	daemon.Main("confed-aggregator", nil, func(ctx context.Context, f *daemon.Flags) error {
		cfg, err := aggregator.Load(f.Config)
		if err != nil {
			return err
		}
		log, err := f.Logger(os.Stderr, cfg.Log.Level, cfg.Log.Format, "aggregator")
		if err != nil {
			return err
		}
		return aggregator.Run(ctx, cfg, aggregator.Options{InsecureSimulatedTEE: f.InsecureSimulatedTEE, Logger: log})
	})
}
