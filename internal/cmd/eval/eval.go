// Package eval implements `batos eval`: evaluate one source as one
// transaction, print its value, and exit 1 on error.
package eval

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// Options configures one evaluation.
type Options struct {
	IO        *iostreams.IOStreams
	Image     string
	Source    string
	Principal string
}

// NewCmd returns the `eval` command.
func NewCmd(ios *iostreams.IOStreams, image func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "eval SOURCE",
		Short: "Evaluate SOURCE once as one transaction and print its value",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return Run(&Options{IO: ios, Image: image(), Source: args[0]})
		},
	}
}

// Run evaluates opts.Source and prints its value.
func Run(opts *Options) error {
	if opts.Source == "" {
		return errors.New("eval: empty source")
	}
	k, err := cmdutil.OpenImage(opts.Image)
	if err != nil {
		return err
	}
	defer k.Close()
	principal := opts.Principal
	if principal == "" {
		principal = "user"
	}
	s := k.NewSession(principal)
	s.SetOutput(opts.IO.Out)
	res, err := s.Eval(context.Background(), opts.Source)
	if err != nil {
		return err
	}
	if res.HasValue {
		fmt.Fprintln(opts.IO.Out, res.Text)
	}
	return nil
}
