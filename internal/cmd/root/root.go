// Package root assembles batos's command tree. Each verb lives in its own
// package under internal/cmd with an Options struct, a constructor and a
// run function.
package root

import (
	"os"

	"github.com/spf13/cobra"

	autotelicmd "batos/internal/cmd/autotelic"
	entropycmd "batos/internal/cmd/entropy"
	evalcmd "batos/internal/cmd/eval"
	forgecmd "batos/internal/cmd/forge"
	imagecmd "batos/internal/cmd/image"
	pllmcmd "batos/internal/cmd/pllm"
	replcmd "batos/internal/cmd/repl"
	sandboxcmd "batos/internal/cmd/sandbox"
	servecmd "batos/internal/cmd/serve"
	tuicmd "batos/internal/cmd/tui"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// DefaultImage is the image opened when neither --image nor BATOS_IMAGE
// names one.
const DefaultImage = "./live_image"

// NewCmd returns the root command. With no sub-command batos opens the
// TUI when standard input and output are terminals, and the line REPL
// otherwise (piped use, tests).
func NewCmd(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "batos",
		Short:         "A live-image programming environment in Go, with a language model inside the image",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
	}
	var flagImage string
	cmd.PersistentFlags().StringVar(&flagImage, "image", "", "image directory (default $BATOS_IMAGE or "+DefaultImage+")")
	var flagToken, flagName string
	cmd.PersistentFlags().StringVar(&flagToken, "token", "", "the served image's token (default $BATOS_TOKEN, or read from the image folder)")
	cmd.PersistentFlags().StringVar(&flagName, "name", "", "this client's name on a served image (default $USER)")
	imagePath := func() string {
		if flagImage != "" {
			return flagImage
		}
		if env := os.Getenv("BATOS_IMAGE"); env != "" {
			return env
		}
		return DefaultImage
	}
	target := func() cmdutil.Target {
		t := cmdutil.Target{Image: imagePath(), Token: flagToken, Name: flagName}
		if t.Token == "" {
			t.Token = os.Getenv("BATOS_TOKEN")
		}
		return t
	}
	repl := replcmd.NewCmd(ios, target)
	tui := tuicmd.NewCmd(ios, target)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if ios.Interactive && tuicmd.Terminal() {
			return tui.RunE(c, args)
		}
		return repl.RunE(c, args)
	}
	cmd.AddCommand(repl, tui, tuicmd.NewAttachCmd(ios, target), evalcmd.NewCmd(ios, target), servecmd.NewCmd(ios, imagePath), forgecmd.NewCmd(ios, target), entropycmd.NewCmd(ios, target), autotelicmd.NewCmd(ios, target), pllmcmd.NewCmd(ios, target),
		imagecmd.NewCmd(ios, imagePath), sandboxcmd.NewCmd())
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	return cmd
}
