//go:build unix

package store_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/store"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

const (
	crashDBEnv   = "CONFED_STORE_CRASH_DB"
	crashSeedEnv = "CONFED_STORE_CRASH_SEED"
)

// TestCrashRecovery runs TestHelperWriter in a child process that writes
// models and ledger records in a loop, SIGKILLs it at random moments and
// checks after each kill that the file opens, every model the child
// reported committed streams back with its hash, the ledger verifies, the
// complete models are exactly the published rounds (Commit is atomic), and
// no partial model remains.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in short mode")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	rng := rand.New(rand.NewPCG(2026, 3))
	committed := map[uint64][32]byte{}
	recovered := 0
	for i := range 8 {
		delay := time.Duration(20+rng.IntN(400)) * time.Millisecond
		for _, line := range runAndKill(t, path, uint64(i), delay) {
			var round uint64
			var sum []byte
			if _, err := fmt.Sscanf(line, "committed %d %x", &round, &sum); err == nil {
				committed[round] = [32]byte(sum)
			}
		}
		s := open(t, path)
		recovered += len(s.Recovered().PartialModels)
		checkAfterCrash(t, s, committed)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			t.Fatalf("after kill %d (%s after start)", i, delay)
		}
	}
	if len(committed) == 0 {
		t.Fatal("the helper never committed a model, so the test checked nothing")
	}
	t.Logf("8 kills: %d models committed, %d partial models recovered", len(committed), recovered)
}

// runAndKill starts the helper on path, SIGKILLs it delay after it is
// ready and returns what it printed.
func runAndKill(t *testing.T, path string, seed uint64, delay time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashSeedEnv+"="+strconv.FormatUint(seed, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	var out []string
	timeout := time.After(2 * time.Minute)
	for len(out) == 0 || out[len(out)-1] != "ready" {
		select {
		case line, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				t.Fatalf("helper exited before it was ready: %v\nstdout: %q\nstderr: %s", err, out, &stderr)
			}
			out = append(out, line)
		case <-timeout:
			cmd.Process.Kill()
			t.Fatal("helper not ready after 2 minutes")
		}
	}
	time.Sleep(delay)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for line := range lines {
		out = append(out, line)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper did not die by SIGKILL: %v\nstdout: %q\nstderr: %s", err, out, &stderr)
	}
	return out
}

// statusState is the round status state of each ledger state.
var statusState = map[string]confedv1.RoundState{
	ledger.StatePublished: confedv1.RoundState_ROUND_STATE_PUBLISHED,
	ledger.StateFailed:    confedv1.RoundState_ROUND_STATE_FAILED,
}

func checkAfterCrash(t *testing.T, s *store.Store, committed map[uint64][32]byte) {
	t.Helper()
	if _, err := s.VerifyLedger(); err != nil {
		t.Errorf("ledger does not verify: %v", err)
	}
	for round, want := range committed {
		r, err := s.OpenModel(round)
		if err != nil {
			t.Errorf("committed model of round %d: %v", round, err)
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil || [32]byte(h.Sum(nil)) != want {
			t.Errorf("committed model of round %d does not stream back intact (%v)", round, err)
		}
	}
	if partial, err := store.PartialModels(s); err != nil || len(partial) != 0 {
		t.Errorf("partial models remain after Open: %v, %v", partial, err)
	}
	entries, err := s.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	var published []uint64
	for _, e := range entries {
		r, err := ledger.Parse(e.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != ledger.KindRound {
			continue
		}
		if r.State == ledger.StatePublished {
			published = append(published, r.Round)
		}
		if st, err := s.Round(r.Round); err != nil || st.GetState() != statusState[r.State] {
			t.Errorf("round %d: status %v, %v does not match the ledger's %q", r.Round, st.GetState(), err, r.State)
		}
	}
	if complete, err := store.CompleteModels(s); err != nil || !slices.Equal(complete, published) {
		t.Errorf("complete models %v, published rounds %v (%v)", complete, published, err)
	}
}

// TestHelperWriter is the child process of TestCrashRecovery, not a test
// of its own: it writes models and ledger records until it is killed.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("helper process of TestCrashRecovery")
	}
	seed, err := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(path, store.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store.SetBatchBytes(s, 512<<10)
	entries, err := s.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	next := uint64(0)
	if len(entries) == 0 {
		appendGenesis(t, s)
	} else if r, err := ledger.Parse(entries[len(entries)-1].Canonical); err != nil {
		t.Fatal(err)
	} else if r.Kind == ledger.KindRound {
		next = r.Round + 1
	}
	fmt.Println("ready")
	rng := rand.New(rand.NewPCG(seed, 99))
	for round := next; ; round++ {
		switch k := rng.IntN(10); {
		case k < 6:
			model := modelBytes(seed<<32|round, 256<<10+rng.IntN(3<<20))
			commitModel(t, s, round, model, 128<<10)
			fmt.Printf("committed %d %x\n", round, sha256.Sum256(model))
		case k < 8:
			st, rec := failed(round, "deadline passed")
			if _, err := s.AppendLedger(st, rec); err != nil {
				t.Fatal(err)
			}
		default: // an upload that breaks off: written, then aborted
			w, err := s.NewModelWriter(round, 128<<10)
			if err != nil {
				t.Fatal(err)
			}
			writeModel(t, w, modelBytes(round, 1<<20+rng.IntN(1<<20)))
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
