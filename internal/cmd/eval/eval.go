// Package eval implements `batos eval`: evaluate one source as one
// transaction, print its value, and exit 1 on error.
package eval

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"batos/internal/cmd/repl"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
)

// Options configures one evaluation.
type Options struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
	Source string
}

// NewCmd returns the `eval` command.
func NewCmd(ios *iostreams.IOStreams, target func() cmdutil.Target) *cobra.Command {
	var connect string
	cmd := &cobra.Command{
		Use:   "eval SOURCE",
		Short: "Evaluate SOURCE once as one transaction and print its value",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := target()
			if connect != "" {
				t.Connect = connect
			}
			return Run(&Options{IO: ios, Target: t, Source: args[0]})
		},
	}
	cmd.Flags().StringVar(&connect, "connect", "", "a served image's address (ws://HOST:PORT/)")
	return cmd
}

// Run evaluates opts.Source, printing its output and then its value.
func Run(opts *Options) error {
	if opts.Source == "" {
		return errors.New("eval: empty source")
	}
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	p, err := repl.NewPrinter(opts.IO, conn)
	if err != nil {
		return err
	}
	defer p.Close()
	res, err := p.Eval(context.Background(), opts.Source)
	if err != nil {
		return err
	}
	if res.HasValue {
		fmt.Fprintln(opts.IO.Out, res.Value.Text)
	}
	return nil
}
