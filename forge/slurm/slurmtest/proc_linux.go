package slurmtest

import "syscall"

// daemonAttr puts a daemon in its own process group, so that a terminal's
// ^C reaches the test, not the daemons mid-run, and has the kernel kill
// it with the test binary, should that die before its cleanups run.
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
