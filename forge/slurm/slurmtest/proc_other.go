//go:build !linux

package slurmtest

import "syscall"

// daemonAttr puts a daemon in its own process group, so that a terminal's
// ^C reaches the test, not the daemons mid-run. (Slurm's daemons are Linux
// programs; this keeps the package building elsewhere.)
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
