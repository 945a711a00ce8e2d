package image

import (
	"fmt"

	"batos/internal/iostreams"
)

// CheckOptions configures `batos image check`.
type CheckOptions struct {
	IO    *iostreams.IOStreams
	Image string
}

func runCheck(opts *CheckOptions) error {
	st, err := openExisting(opts.Image, true)
	if err != nil {
		return err
	}
	defer st.Close()
	report, err := st.Check()
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
