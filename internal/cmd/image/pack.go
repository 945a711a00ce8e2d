package image

import (
	"fmt"

	"batos/image"
	"batos/internal/iostreams"
)

// PackOptions configures `batos image pack`.
type PackOptions struct {
	IO     *iostreams.IOStreams
	Image  string
	Before image.TxID // 0: the last transaction
}

func runPack(opts *PackOptions) error {
	st, err := openExisting(opts.Image, false)
	if err != nil {
		return err
	}
	defer st.Close()
	before := opts.Before
	if before == 0 {
		before = st.LastTx()
	}
	stats, err := st.Pack(before)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "packed before transaction %d: %d old revisions and %d unreachable objects removed\n", before, stats.RevisionsRemoved, stats.ObjectsRemoved)
	return nil
}
