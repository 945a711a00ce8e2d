// Package cmdutil holds what several commands share: opening an image with
// everything a client of it expects installed.
package cmdutil

import (
	"fmt"
	"os"

	"batos/kernel"
	"batos/kernel/pllm"
	"batos/kernel/sandbox"
)

// OpenImage opens the image in dir with the pLLM installed; its trial runs
// re-execute this binary as `batos sandbox`.
func OpenImage(dir string) (*kernel.Kernel, error) {
	k, err := kernel.Open(dir, nil)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("open image %s: locate the batos binary for sandbox runs: %w", dir, err)
	}
	pllm.Install(k, pllm.Options{Sandbox: &sandbox.Runner{Command: []string{exe, "sandbox"}, Warm: true}})
	return k, nil
}
