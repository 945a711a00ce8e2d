// Package image implements `batos image info|history|undo|pack|check`:
// maintenance of an image on disk. Each verb has an Options struct and a
// run function; all of them refuse to create an image that is not there.
package image

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"batos/image"
	"batos/internal/iostreams"
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

// openExisting opens an image that must already exist.
func openExisting(dir string) (*image.Store, error) {
	if _, err := os.Stat(dir); err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no image at %s (run `batos --image %s` to create one)", dir, dir)
		}
		return nil, err
	}
	return image.Open(dir, nil)
}
