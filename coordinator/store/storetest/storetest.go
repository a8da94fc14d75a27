// Package storetest opens throwaway stores for tests.
package storetest

import (
	"path/filepath"
	"testing"

	"github.com/confed/confed/coordinator/store"
)

// Open opens a new store in a temporary directory; it is closed when the
// test ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "confed.db"), store.Options{})
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	return s
}
