package reliability

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the child if the suite dies first.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
