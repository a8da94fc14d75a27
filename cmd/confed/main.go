// Command confed is the command-line tool for operators, auditors and
// participants: credentials, configuration checks, round status, models,
// the ledger, and the demo.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/confed/confed/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
