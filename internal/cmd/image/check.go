package image

import (
	"context"
	"fmt"

	"batos/image"

	"batos/internal/iostreams"
)

// CheckOptions configures `batos image check`.
type CheckOptions struct {
	IO    *iostreams.IOStreams
	Image string
}

func runCheck(opts *CheckOptions) error {
	st, conn, err := openOrAttach(opts.Image, true)
	if err != nil {
		return err
	}
	var report image.CheckReport
	if conn != nil {
		// Served (by batos serve, or the TUI or REPL that has it open):
		// the server checks a snapshot while the image stays in use.
		defer conn.Close()
		r, cerr := conn.Check(context.Background())
		report = image.CheckReport{Objects: r.Objects, Revisions: r.Revisions, Transactions: r.Transactions, Problems: r.Problems}
		err = cerr
	} else {
		defer st.Close()
		report, err = st.Check()
	}
	if err != nil && len(report.Problems) == 0 {
		return err // the image could not be read through (corruption): one line
	}
	for _, p := range report.Problems {
		fmt.Fprintln(opts.IO.Out, "problem:", p)
	}
	fmt.Fprintf(opts.IO.Out, "checked %d objects, %d revisions, %d transactions: %d problems\n", report.Objects, report.Revisions, report.Transactions, len(report.Problems))
	if err != nil {
		return fmt.Errorf("check %s: %w", opts.Image, err)
	}
	return nil
}
