//go:build !unix

package bench

import "os"

// childMaxRSSKiB is unknown here.
func childMaxRSSKiB(*os.ProcessState) int64 { return 0 }
