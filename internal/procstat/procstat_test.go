package procstat

import (
	"os"
	"runtime"
	"testing"
)

func TestFieldKiB(t *testing.T) {
	status := "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t1024 kB\nThreads:\t3\n"
	tests := []struct {
		field string
		want  int64
	}{
		{"VmHWM", 2048}, {"VmRSS", 1024}, {"Threads", 3}, {"VmSwap", 0}, {"Vm", 0},
	}
	for _, tt := range tests {
		if got := fieldKiB(status, tt.field); got != tt.want {
			t.Errorf("fieldKiB(%q) = %d, want %d", tt.field, got, tt.want)
		}
	}
}

func TestKiBOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	self, byPid := KiB(Self, "VmHWM"), KiB(os.Getpid(), "VmHWM")
	if self <= 0 || byPid <= 0 {
		t.Fatalf("VmHWM of this process: %d (self), %d (by pid); want both positive", self, byPid)
	}
	if KiB(Self, "NoSuchField") != 0 || KiB(-5, "VmHWM") != 0 {
		t.Fatal("an unknown field or process must read 0")
	}
}
