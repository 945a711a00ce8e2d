package image

import (
	"fmt"
	"strings"

	"batos/image"
	"batos/internal/iostreams"
)

// HistoryOptions configures `batos image history`.
type HistoryOptions struct {
	IO    *iostreams.IOStreams
	Image string
	Limit int // 0: all
}

// historyPage is how many records are read from the store at a time.
const historyPage = 256

func runHistory(opts *HistoryOptions) error {
	st, err := openExisting(opts.Image, true)
	if err != nil {
		return err
	}
	defer st.Close()
	var before image.TxID
	printed := 0
	for {
		page := historyPage
		if opts.Limit > 0 && opts.Limit-printed < page {
			page = opts.Limit - printed
		}
		if page == 0 {
			return nil
		}
		txs, err := st.History(before, page)
		if err != nil {
			return err
		}
		for _, tx := range txs {
			fmt.Fprintln(opts.IO.Out, formatTx(tx))
		}
		printed += len(txs)
		if len(txs) < page {
			return nil
		}
		before = txs[len(txs)-1].ID
	}
}

// formatTx prints a transaction record on one line: id, time, principal,
// objects changed, note.
func formatTx(tx image.TxInfo) string {
	oids := make([]string, len(tx.Changed))
	for i, oid := range tx.Changed {
		oids[i] = fmt.Sprint(oid)
	}
	note := strings.ReplaceAll(tx.Note, "\n", " ")
	return fmt.Sprintf("%-6d %s  %-14s [%s]  %s", tx.ID, tx.Time.Local().Format("2006-01-02 15:04:05"), tx.Principal, strings.Join(oids, " "), note)
}
