//go:build unix

package bench

import (
	"os"
	"syscall"
)

// childMaxRSSKiB returns a finished child's ru_maxrss (KiB on Linux), 0 if
// unknown.
func childMaxRSSKiB(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss)
	}
	return 0
}
