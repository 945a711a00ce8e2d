package image

import (
	"context"
	"fmt"
	"strings"

	"batos/api"
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
	st, conn, err := openOrAttach(opts.Image, true)
	if err != nil {
		return err
	}
	history := func(before image.TxID, n int) ([]image.TxInfo, error) { return st.History(before, n) }
	if conn != nil {
		defer conn.Close()
		history = func(before image.TxID, n int) ([]image.TxInfo, error) {
			txs, err := conn.History(context.Background(), uint64(before), n)
			infos := make([]image.TxInfo, len(txs))
			for i, tx := range txs {
				infos[i] = txInfo(tx)
			}
			return infos, err
		}
	} else {
		defer st.Close()
	}
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
		txs, err := history(before, page)
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

// txInfo is a served image's transaction record as the store gives it.
func txInfo(tx api.Tx) image.TxInfo {
	info := image.TxInfo{ID: image.TxID(tx.ID), Time: tx.Time, Principal: tx.Principal, Note: tx.Note}
	for _, ref := range tx.Changed {
		info.Changed = append(info.Changed, image.OID(ref.OID))
	}
	return info
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
