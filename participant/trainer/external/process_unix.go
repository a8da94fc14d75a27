//go:build unix

package external

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// drainGrace bounds how long the output is still read after the trainer's
// process group was killed (a process that left the group may hold it).
const drainGrace = 5 * time.Second

// run starts the trainer in dir, waits for it under the timeout and kills
// its whole process group when it ends, one way or another.
func (r *Runner) run(ctx context.Context, dir, roundFile string) error {
	tctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout.Std())
	defer cancel()
	cmd := exec.CommandContext(tctx, r.cfg.Command, r.cfg.Args...)
	cmd.Dir = dir
	cmd.Env = r.env(dir, roundFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	out := newOutputLog(r.log)
	streams, err := r.pipes(cmd)
	if err != nil {
		return fail("start", err)
	}
	if err := cmd.Start(); err != nil {
		streams.closeAll()
		return failf("start", "running %s: %v", r.cfg.Command, err)
	}
	streams.closeWriters()
	done := streams.drain(out)
	waitErr := cmd.Wait()
	_ = killGroup(cmd.Process.Pid) // whatever the trainer left behind
	select {
	case <-done:
	case <-time.After(drainGrace):
		streams.closeReaders()
		<-done
		r.log.Warn("a process that left the trainer's process group still held its output; stopped reading it")
	}
	out.finish()
	return r.exitError(ctx, tctx, waitErr)
}

// exitError classifies how the trainer ended.
func (r *Runner) exitError(ctx, tctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return failf("timeout", "the round's deadline passed or the daemon stopped before the trainer finished; its process group was killed")
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		return failf("timeout", "did not finish within trainer.external.timeout (%s); its process group was killed", r.cfg.Timeout)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fail("exit", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return failf("exit", "killed by signal %s (its output is in the participant's log)", ws.Signal())
	}
	return failf("exit", "exited with status %d, want 0 (its output is in the participant's log)", ee.ExitCode())
}

func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// pipes are the trainer's stdout and stderr.
type pipes struct {
	outR, outW, errR, errW *os.File
}

func (r *Runner) pipes(cmd *exec.Cmd) (*pipes, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	return &pipes{outR: outR, outW: outW, errR: errR, errW: errW}, nil
}

func (p *pipes) closeWriters() { p.outW.Close(); p.errW.Close() }
func (p *pipes) closeReaders() { p.outR.Close(); p.errR.Close() }
func (p *pipes) closeAll()     { p.closeWriters(); p.closeReaders() }

// drain copies both streams to out; the channel closes when both ended
// and the readers are closed.
func (p *pipes) drain(out *outputLog) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); out.consume("stdout", p.outR) }()
	go func() { defer wg.Done(); out.consume("stderr", p.errR) }()
	go func() { wg.Wait(); p.closeReaders(); close(done) }()
	return done
}
