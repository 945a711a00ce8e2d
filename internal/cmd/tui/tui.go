// Package tui implements `batos tui`, the terminal IDE, which the root
// command also opens when standard input and output are both terminals.
package tui

import (
	"os"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"batos/internal/cmdutil"
	"batos/internal/iostreams"
	"batos/kernel/api"
	batostui "batos/tui"
)

// Options configures a TUI run.
type Options struct {
	IO    *iostreams.IOStreams
	Image string
}

// NewCmd returns the `tui` command.
func NewCmd(ios *iostreams.IOStreams, image func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "tui",
		Short: "Open the terminal IDE: browser, inspector, workspace, transcript, history",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Run(&Options{IO: ios, Image: image()})
		},
	}
}

// Run opens the image with the pLLM installed and runs the TUI on it.
func Run(opts *Options) error {
	k, err := cmdutil.OpenImage(opts.Image)
	if err != nil {
		return err
	}
	defer k.Close()
	img := api.NewLocal(k, "user")
	defer img.Close()
	return batostui.Run(img, batostui.Options{})
}

// Terminal reports whether standard input and output are both terminals:
// then the root command opens the TUI rather than the line REPL.
func Terminal() bool {
	return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd())
}
