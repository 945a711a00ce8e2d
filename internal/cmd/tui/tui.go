// Package tui implements `batos tui`, the terminal IDE, which the root
// command also opens when standard input and output are both terminals.
package tui

import (
	"os"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"batos/internal/cmdutil"
	"batos/internal/iostreams"
	batostui "batos/tui"
)

// Options configures a TUI run.
type Options struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
}

// NewCmd returns the `tui` command.
func NewCmd(ios *iostreams.IOStreams, target func() cmdutil.Target) *cobra.Command {
	var connect string
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Open the terminal IDE: browser, inspector, workspace, transcript, history",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t := target()
			if connect != "" {
				t.Connect = connect
			}
			return Run(&Options{IO: ios, Target: t})
		},
	}
	cmd.Flags().StringVar(&connect, "connect", "", "a served image's address (ws://HOST:PORT/)")
	return cmd
}

// NewAttachCmd returns the `attach` command: the TUI on a served image.
func NewAttachCmd(ios *iostreams.IOStreams, target func() cmdutil.Target) *cobra.Command {
	return &cobra.Command{
		Use:   "attach [URL]",
		Short: "Open the terminal IDE on a served image (default: the one serving --image)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := target()
			t.Connect = cmdutil.Served
			if len(args) == 1 {
				t.Connect = args[0]
			}
			return Run(&Options{IO: ios, Target: t})
		},
	}
}

// Run reaches the image and runs the TUI on it.
func Run(opts *Options) error {
	opts.Target.RecordInputs = true
	t := opts.Target
	t.Forge = true
	t.Serve = true
	conn, err := cmdutil.Open(t)
	if err != nil {
		return err
	}
	defer conn.Close()
	return batostui.Run(conn, batostui.Options{})
}

// Terminal reports whether standard input and output are both terminals:
// then the root command opens the TUI rather than the line REPL.
func Terminal() bool {
	return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd())
}
