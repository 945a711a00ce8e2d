//go:build !unix

package sandbox

import "os/exec"

// setProcessGroup keeps exec's default: cancellation kills the child.
func setProcessGroup(cmd *exec.Cmd) {}

func limitMemory(uint64) {}
