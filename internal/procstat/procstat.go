// Package procstat reads memory figures of a process from Linux's
// /proc/<pid>/status, for the benchmarks and the reliability suite that
// measure the daemons' peak memory.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Self is the pid that names the calling process.
const Self = 0

// KiB returns a "Field: N kB" line of /proc/<pid>/status (pid Self: this
// process), such as VmRSS or VmHWM, in KiB; 0 where there is no such file
// or field.
func KiB(pid int, field string) int64 {
	path := "/proc/self/status"
	if pid != Self {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return fieldKiB(string(b), field)
}

func fieldKiB(status, field string) int64 {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
