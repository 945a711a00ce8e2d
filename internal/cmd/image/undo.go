package image

import (
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
	st, err := openExisting(opts.Image, false)
	if err != nil {
		return err
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
