//go:build unix

package sandbox

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the child in its own process group, so that
// killGroup reaches anything it started too.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup SIGKILLs the child's process group.
func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

// limitMemory caps the process's address space, so that a candidate that
// allocates without bound dies of its own "out of memory" — reported as a
// crash — instead of drawing the host's OOM killer, which might pick the
// image process.
func limitMemory(bytes uint64) {
	lim := syscall.Rlimit{Cur: bytes, Max: bytes}
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, &lim)
}
