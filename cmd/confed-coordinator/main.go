// Command confed-coordinator runs a federation's coordinator.
package main

import (
	"context"
	"os"

	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/internal/daemon"
)

func main() {
	daemon.Main("confed-coordinator", nil, func(ctx context.Context, f *daemon.Flags) error {
		cfg, err := coordinator.Load(f.Config)
		if err != nil {
			return err
		}
		log, err := f.Logger(os.Stderr, cfg.Log.Level, cfg.Log.Format, "coordinator")
		if err != nil {
			return err
		}
		return coordinator.Run(ctx, cfg, coordinator.Options{InsecureSimulatedTEE: f.InsecureSimulatedTEE, Logger: log})
	})
}
