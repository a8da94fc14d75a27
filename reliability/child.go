package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ChildEnv names the child role this binary runs when re-executed by the
// suite; ChildConfigEnv carries the role's JSON configuration.
const (
	ChildEnv       = "CONFED_RELIABILITY_CHILD"
	ChildConfigEnv = "CONFED_RELIABILITY_CHILD_CONFIG"
)

// Lines a child prints on its standard output.
const (
	readyLine = "confed-rel-ready "
	eventLine = "confed-rel-event "
)

// childRole runs one kind of child until ctx ends (the parent closed the
// child's standard input). ready reports the address it serves on; emit
// sends an event (a JSON value) to the parent.
type childRole func(ctx context.Context, cfg []byte, ready func(addr string), emit func(any)) error

var roles = map[string]childRole{
	"coordinator": runCoordinatorChild,
	"aggregator":  runAggregatorChild,
	"swarm":       runSwarmChild,
}

// MaybeRunChild runs the child that ChildEnv names and exits, or returns
// at once when ChildEnv is unset. Call it first thing in main and TestMain.
func MaybeRunChild() {
	role := os.Getenv(ChildEnv)
	if role == "" {
		return
	}
	run, ok := roles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "reliability child: unknown role %q\n", role)
		os.Exit(2)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	printLine := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		out.WriteString(s + "\n")
		out.Flush()
	}
	err := run(ctx, []byte(os.Getenv(ChildConfigEnv)),
		func(addr string) { printLine(readyLine + addr) },
		func(ev any) {
			b, err := json.Marshal(ev)
			if err == nil {
				printLine(eventLine + string(b))
			}
		})
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "reliability child %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Proc is a child process.
type Proc struct {
	Name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	tail   *logTail
	ready  chan string
	events chan json.RawMessage
	done   chan struct{}
	err    error
}

// startChild starts this binary as a child of role with cfg.
func startChild(name, role string, cfg any) (*Proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("child %s config: %w", name, err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), ChildEnv+"="+role, ChildConfigEnv+"="+string(js))
	setDeathSignal(cmd)
	p := &Proc{Name: name, cmd: cmd, tail: &logTail{}, ready: make(chan string, 1),
		events: make(chan json.RawMessage, 4096), done: make(chan struct{})}
	cmd.Stderr = p.tail
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go p.read(stdout)
	return p, nil
}

func (p *Proc) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if addr, ok := strings.CutPrefix(line, readyLine); ok {
			select {
			case p.ready <- addr:
			default:
			}
		} else if ev, ok := strings.CutPrefix(line, eventLine); ok {
			select {
			case p.events <- json.RawMessage(ev):
			default: // the parent does not keep up: drop (counted nowhere)
			}
		}
	}
	p.err = p.cmd.Wait()
	close(p.done)
}

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// WaitReady waits for the child to report the address it serves on.
func (p *Proc) WaitReady(timeout time.Duration) (string, error) {
	select {
	case addr := <-p.ready:
		return addr, nil
	case <-p.done:
		return "", fmt.Errorf("%s exited before it was ready (%v)%s", p.Name, p.err, p.tail.String())
	case <-time.After(timeout):
		return "", fmt.Errorf("waited %s for %s to be ready%s", timeout, p.Name, p.tail.String())
	}
}

// Exited reports whether the child has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL and waits (bounded) for the child to be reaped.
func (p *Proc) Kill() error {
	if p.Exited() {
		return nil
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("waited 30s for %s to die after SIGKILL", p.Name)
	}
}

// Stop closes the child's standard input, which ends it, and waits up to
// timeout before killing it.
func (p *Proc) Stop(timeout time.Duration) error {
	p.stdin.Close()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s: %v%s", p.Name, p.err, p.tail.String())
		}
		return nil
	case <-time.After(timeout):
		_ = p.Kill()
		return fmt.Errorf("%s did not stop within %s and was killed%s", p.Name, timeout, p.tail.String())
	}
}

// Logs is the tail of what the child logged.
func (p *Proc) Logs() string { return p.tail.String() }

// logTail keeps the last lines a child wrote to its standard error.
type logTail struct {
	mu    sync.Mutex
	lines []string
	part  string
}

const tailLines = 20

func (l *logTail) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.part + string(b)
	parts := strings.Split(s, "\n")
	l.part = parts[len(parts)-1]
	for _, line := range parts[:len(parts)-1] {
		if line == "" || strings.Contains(line, "INSECURE") {
			continue
		}
		l.lines = append(l.lines, line)
	}
	if len(l.lines) > tailLines {
		l.lines = l.lines[len(l.lines)-tailLines:]
	}
	return len(b), nil
}

// String is "" or the lines, each on its own line after a newline.
func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return ""
	}
	return "\n  logs:\n    " + strings.Join(l.lines, "\n    ")
}

// Contains reports whether a kept line contains s.
func (l *logTail) Contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}
