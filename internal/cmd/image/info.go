package image

import (
	"fmt"

	"batos/internal/iostreams"
)

// InfoOptions configures `batos image info`.
type InfoOptions struct {
	IO    *iostreams.IOStreams
	Image string
}

func runInfo(opts *InfoOptions) error {
	st, err := openExisting(opts.Image, true)
	if err != nil {
		return err
	}
	defer st.Close()
	info, err := st.Info()
	if err != nil {
		return err
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "image:        %s\n", info.Dir)
	fmt.Fprintf(out, "objects:      %d\n", info.Objects)
	fmt.Fprintf(out, "last tx:      %d\n", info.LastTx)
	if info.LastTx != 0 {
		tx, err := st.TxInfo(info.LastTx)
		if err == nil {
			fmt.Fprintf(out, "last commit:  %s by %s\n", tx.Time.Local().Format("2006-01-02 15:04:05"), tx.Principal)
		}
	}
	fmt.Fprintf(out, "format:       %d\n", info.Format)
	fmt.Fprintf(out, "size on disk: %d bytes\n", info.DiskBytes)
	return nil
}
