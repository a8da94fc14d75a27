// Command confed-aggregator runs the aggregator, the part of confed that
// runs inside a TEE.
package main

import (
	"context"
	"flag"
	"os"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/internal/daemon"
	"github.com/confed/confed/internal/tee"
)

func main() {
	var teeKind string
	daemon.Main("confed-aggregator", func(fs *flag.FlagSet, _ *daemon.Flags) {
		fs.StringVar(&teeKind, "tee", tee.KindSEVSNP, "TEE this aggregator runs in: sev-snp, tdx or sgx")
	}, func(ctx context.Context, f *daemon.Flags) error {
		cfg, err := aggregator.Load(f.Config)
		if err != nil {
			return err
		}
		log, err := f.Logger(os.Stderr, cfg.Log.Level, cfg.Log.Format, "aggregator")
		if err != nil {
			return err
		}
		return aggregator.Run(ctx, cfg, aggregator.Options{TEE: teeKind, InsecureSimulatedTEE: f.InsecureSimulatedTEE, Logger: log})
	})
}
