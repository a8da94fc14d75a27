//go:build !linux

package reliability

import "os/exec"

// setDeathSignal is a no-op where the parent-death signal does not exist.
func setDeathSignal(*exec.Cmd) {}
