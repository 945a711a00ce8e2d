//go:build !unix

package sandbox

import "os/exec"

// setProcessGroup keeps exec's default.
func setProcessGroup(cmd *exec.Cmd) {}

// killGroup kills the child.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func limitMemory(uint64) {}
