package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/confed/confed/coordinator/dashboard"
)

// dashboardTokenFile is where the demo keeps the dashboard's operator
// token, relative to the demo folder.
const dashboardTokenFile = "dashboard.token"

// prepareDashboard picks the dashboard's port and writes a fresh operator
// token (mode 0600), which the coordinator then reads.
func prepareDashboard(l *demoLayout) error {
	var err error
	if l.dashAddr, err = freePort(); err != nil {
		return err
	}
	if l.dashToken, err = dashboard.NewTokenSecret(); err != nil {
		return err
	}
	return os.WriteFile(l.path(dashboardTokenFile), []byte(l.dashToken+"\n"), 0o600)
}

// dashboardYAML is the coordinator's dashboard section, empty without
// --serve.
func dashboardYAML(l demoLayout) string {
	if l.dashAddr == "" {
		return ""
	}
	return fmt.Sprintf("dashboard:\n  listen: %s\n  token_file: %s\n", l.dashAddr, dashboardTokenFile)
}

func printDashboard(out io.Writer, l demoLayout) {
	fmt.Fprintf(out, "dashboard:      https://%s/\n", l.dashAddr)
	fmt.Fprintf(out, "operator token: %s  (also in %s)\n", l.dashToken, l.path(dashboardTokenFile))
	fmt.Fprintf(out, "                the certificate is issued by the demo's own CA (%s): your browser will warn about it\n",
		filepath.Join(l.pki, "ca.crt"))
}

// serveDashboard keeps the coordinator (and the aggregator) running until
// ctx ends, e.g. on Ctrl-C; an early exit of the coordinator is an error.
func serveDashboard(ctx context.Context, l demoLayout, coordinator *proc, out io.Writer) error {
	fmt.Fprintln(out)
	printDashboard(out, l)
	fmt.Fprintln(out, "serving the dashboard until interrupted (Ctrl-C)")
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "stopping")
		return nil
	case err := <-coordinator.done:
		coordinator.done <- err
		return fmt.Errorf("coordinator exited while serving the dashboard (%v): see %s", err, coordinator.log)
	}
}
