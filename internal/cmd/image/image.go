// Package image implements `batos image info|history|undo|pack|check`:
// maintenance of an image on disk. Each verb has an Options struct and a
// run function; none of them creates an image, and info, history and check
// open it read-only: they change no byte of the image folder.
package image

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"batos/image"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
	"batos/server"
)

// NewCmd returns the `image` command and its verbs.
func NewCmd(ios *iostreams.IOStreams, dir func() string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Inspect and maintain an image: info, history, undo, pack, check",
	}
	var limit int
	history := &cobra.Command{
		Use:   "history",
		Short: "List transactions, newest first, one a line, the id first",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runHistory(&HistoryOptions{IO: ios, Image: dir(), Limit: limit})
		},
	}
	history.Flags().IntVarP(&limit, "limit", "n", 0, "show at most this many transactions (0: all)")
	var before uint64
	pack := &cobra.Command{
		Use:   "pack",
		Short: "Drop old revisions and unreachable objects",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runPack(&PackOptions{IO: ios, Image: dir(), Before: image.TxID(before)})
		},
	}
	pack.Flags().Uint64Var(&before, "before", 0, "keep history from this transaction on (default: the last transaction)")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "info",
			Short: "Show the image's path, object count, last transaction and format",
			Args:  cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				return runInfo(&InfoOptions{IO: ios, Image: dir()})
			},
		},
		history,
		&cobra.Command{
			Use:   "undo TXID",
			Short: "Undo a transaction as a new transaction (fails if its objects changed since)",
			Args:  cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, args []string) error {
				id, err := strconv.ParseUint(args[0], 10, 64)
				if err != nil || id == 0 {
					return fmt.Errorf("undo: %q is not a transaction id (see `batos image history`)", args[0])
				}
				return runUndo(&UndoOptions{IO: ios, Image: dir(), Tx: image.TxID(id)})
			},
		},
		pack,
		&cobra.Command{
			Use:   "check",
			Short: "Verify that every record decodes and every reference resolves",
			Args:  cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				return runCheck(&CheckOptions{IO: ios, Image: dir()})
			},
		},
	)
	return cmd
}

// openExisting opens an image that must already exist (image.Open without
// Create says so in one line otherwise), read-only when readOnly.
func openExisting(dir string, readOnly bool) (*image.Store, error) {
	st, err := image.Open(dir, &image.Options{ReadOnly: readOnly})
	if served, ok := servedBy(dir, err); ok {
		return nil, fmt.Errorf("image %s is served at %s by `batos serve`: stop the server first", dir, served)
	}
	return st, err
}

// servedBy reports the address of the server on this machine that holds
// the image, when err says that the image is locked and the image folder
// names a server.
func servedBy(dir string, err error) (string, bool) {
	var locked *image.LockedError
	if !errors.As(err, &locked) {
		return "", false
	}
	f, ferr := server.ReadToken(dir)
	if ferr != nil {
		return "", false
	}
	return f.Addr, true
}

// openOrAttach opens an existing image, or reaches it through the server
// on this machine that serves it: st or conn is set. The verbs that
// history, undo, info and check need are in the clients' contract; pack
// needs the image to itself.
func openOrAttach(dir string, readOnly bool) (st *image.Store, conn *cmdutil.Conn, err error) {
	st, err = image.Open(dir, &image.Options{ReadOnly: readOnly})
	if _, ok := servedBy(dir, err); !ok {
		return st, nil, err
	}
	conn, aerr := cmdutil.Attach(cmdutil.Target{Image: dir})
	if aerr != nil {
		return nil, nil, fmt.Errorf("%w; its server does not answer: %v", err, aerr)
	}
	return nil, conn, nil
}
