//go:build !unix

package external

import "context"

func (r *Runner) run(context.Context, string, string) error {
	return failf("start", "external trainers need a Unix system (process groups)")
}
