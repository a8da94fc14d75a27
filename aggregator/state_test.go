package aggregator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// TestWaitFolded checks the close path's wait for the asynchronous folds
// of included updates: it returns once all are folded, fails at once with
// the reason when one fold failed, and gives up when its context ends.
func TestWaitFolded(t *testing.T) {
	errFold := errors.New("length mismatch")
	tests := []struct {
		name    string
		include []string
		events  func(r *roundState) // run on another goroutine
		wantErr string              // "" for success
	}{
		{"all folded", []string{"a", "b"}, func(r *roundState) {
			foldFor(r, "a")
			foldFor(r, "b")
		}, ""},
		{"nothing to wait for", nil, func(*roundState) {}, ""},
		{"a fold failed", []string{"a", "b"}, func(r *roundState) {
			foldFor(r, "a")
			r.foldFailed("b", errFold)
		}, `update of "b", whose fold failed: length mismatch`},
		{"a failure of another participant does not matter", []string{"a"}, func(r *roundState) {
			r.foldFailed("z", errFold)
			foldFor(r, "a")
		}, ""},
		{"never folded", []string{"a"}, func(*roundState) {}, `waiting for the update of "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &roundState{folded: map[string]*confedv1.Contribution{}, changed: make(chan struct{})}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			go tt.events(r)
			err := r.waitFolded(ctx, tt.include)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("waitFolded: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("waitFolded: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func foldFor(r *roundState, p string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.markFolded(&confedv1.Contribution{Participant: p})
}
