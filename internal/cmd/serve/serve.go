// Package serve implements `batos serve`: a headless kernel that serves
// its image over WebSocket (docs/PROTOCOL.md) until SIGTERM or SIGINT.
package serve

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"batos/internal/cmdutil"
	"batos/internal/iostreams"
	"batos/server"
	"batos/system"
)

// Options configures a server run.
type Options struct {
	IO     *iostreams.IOStreams
	Image  string
	Listen string
	// Public allows a non-loopback Listen address.
	Public bool
	// Ready, when set, receives the address once clients can connect
	// (tests).
	Ready func(addr string)
	// Stop, when set, replaces the signals that stop the server (tests).
	Stop <-chan struct{}
}

// DefaultListen is where `batos serve` listens unless told otherwise.
const DefaultListen = "127.0.0.1:7777"

// NewCmd returns the `serve` command.
func NewCmd(ios *iostreams.IOStreams, image func() string) *cobra.Command {
	opts := &Options{IO: ios}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the image over WebSocket for `batos attach`, `--connect` and scripts",
		Long: `Serve the image over WebSocket until SIGTERM or SIGINT.

The server writes its address and a fresh token, mode 0600, to IMAGE/server.json;
clients on this machine read it from there, and batos, batos repl, batos eval and
batos tui on this image attach to the server instead of opening the image.
It listens on loopback unless --listen-public; use TLS in front of it then.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Image = image()
			return Run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", DefaultListen, "address to listen on (port 0: any free port)")
	cmd.Flags().BoolVar(&opts.Public, "listen-public", false, "allow a non-loopback --listen address (no TLS: put a TLS proxy in front)")
	return cmd
}

// Run serves opts.Image until stopped. Every commit acknowledged to a
// client is durable when it returns.
func Run(opts *Options) error {
	l, err := server.Listen(opts.Listen, opts.Public)
	if err != nil {
		return err
	}
	if opts.Public {
		fmt.Fprintf(opts.IO.ErrOut, "warning: serving %s beyond this machine without TLS: the token and every value cross the network in the clear; put a TLS proxy in front\n", l.Addr())
	}
	sys, err := system.Open(opts.Image, system.Options{Forge: true, Entropy: true, Autotelic: true, ForgeOptions: cmdutil.ForgeOptions()})
	if err != nil {
		l.Close()
		return err
	}
	addr := server.URL(l.Addr())
	token, err := server.WriteToken(opts.Image, addr)
	if err != nil {
		l.Close()
		sys.Close()
		return err
	}
	defer server.RemoveToken(opts.Image)
	if err := sys.Serve(l, server.Options{Token: token}); err != nil {
		sys.Close()
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "serving %s at %s (token in %s)\n", opts.Image, addr, filepath.Join(opts.Image, server.TokenFileName))
	if opts.Ready != nil {
		opts.Ready(addr)
	}
	stop := opts.Stop
	if stop == nil {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		defer signal.Stop(sig)
		ch := make(chan struct{})
		go func() { <-sig; close(ch) }()
		stop = ch
	}
	<-stop
	fmt.Fprintln(opts.IO.ErrOut, "stopping: clients are told, running requests get 5s to finish")
	return sys.Close()
}
