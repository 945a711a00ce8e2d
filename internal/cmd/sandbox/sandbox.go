// Package sandbox implements the hidden `batos sandbox` command: the child
// process of kernel/sandbox's Runner, which trial-runs one candidate method
// on an image checkpoint (request on stdin, response on stdout).
package sandbox

import (
	"os"

	"github.com/spf13/cobra"

	"batos/kernel/sandbox"
)

// NewCmd returns the hidden `sandbox` command.
func NewCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sandbox",
		Short:  "Trial-run one candidate method (internal: started by the image process)",
		Hidden: true,
		Args:   cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			os.Exit(sandbox.Main())
		},
	}
}
