package image

import (
	"context"
	"fmt"

	"batos/internal/iostreams"
)

// InfoOptions configures `batos image info`.
type InfoOptions struct {
	IO    *iostreams.IOStreams
	Image string
}

func runInfo(opts *InfoOptions) error {
	st, conn, err := openOrAttach(opts.Image, true)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	if conn != nil {
		defer conn.Close()
		status, err := conn.Status(context.Background())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "image:        %s\n", status.Image)
		fmt.Fprintf(out, "served at:    %s (%d clients)\n", status.Remote, status.Clients)
		fmt.Fprintf(out, "objects:      %d\n", status.Objects)
		fmt.Fprintf(out, "last tx:      %d\n", status.LastTx.ID)
		if status.LastTx.ID != 0 {
			fmt.Fprintf(out, "last commit:  %s by %s\n", status.LastTx.Time.Local().Format("2006-01-02 15:04:05"), status.LastTx.Principal)
		}
		return nil
	}
	defer st.Close()
	info, err := st.Info()
	if err != nil {
		return err
	}
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
