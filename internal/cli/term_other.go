//go:build !linux

package cli

// isTerminal reports false where terminals are not detected: progress is
// then never drawn.
func isTerminal(uintptr) bool { return false }
