// Package version reports the version of confed's binaries.
package version

import "runtime/debug"

// Version is set at link time for releases (-ldflags "-X ...version.Version=v1.2.3").
var Version = "dev"

// String is the version and the Go toolchain that built the binary.
func String() string {
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	return Version + " (" + goVersion + ")"
}
