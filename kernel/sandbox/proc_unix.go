//go:build unix

package sandbox

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the child in its own process group and makes
// cancellation SIGKILL the whole group.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
