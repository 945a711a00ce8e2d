package image

import (
	"context"
	"fmt"

	"batos/image"
	"batos/internal/iostreams"
)

// UndoOptions configures `batos image undo`.
type UndoOptions struct {
	IO        *iostreams.IOStreams
	Image     string
	Tx        image.TxID
	Principal string // default "user"
}

func runUndo(opts *UndoOptions) error {
	st, conn, err := openOrAttach(opts.Image, false)
	if err != nil {
		return err
	}
	if conn != nil {
		// The server's principal for this client (remote:NAME) is the
		// undo's.
		defer conn.Close()
		tx, err := conn.Undo(context.Background(), uint64(opts.Tx))
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "undid transaction %d as transaction %d (%d objects restored)\n", opts.Tx, tx.ID, len(tx.Changed))
		return nil
	}
	defer st.Close()
	principal := opts.Principal
	if principal == "" {
		principal = "user"
	}
	info, err := st.Undo(opts.Tx, principal)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "undid transaction %d as transaction %d (%d objects restored)\n", opts.Tx, info.ID, len(info.Changed))
	return nil
}
