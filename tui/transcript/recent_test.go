package transcript_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
	"batos/tui/transcript"
)

// past is the image's history: transactions ids, newest first, each with
// a note naming it.
func past(ids ...uint64) []api.Tx {
	var txs []api.Tx
	for _, id := range ids {
		txs = append(txs, api.Tx{ID: id, Time: clock.Add(time.Duration(id) * time.Second), Principal: "user", Note: fmt.Sprintf("note of %d", id)})
	}
	return txs
}

// liveChange is what the live feed says a commit changed (the history
// does not carry it).
var liveChange = api.Change{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "after", Kind: api.KindData, Op: "added"}}}

// TestShowsRecentHistory: on an image with history the transcript opens on
// its recent transactions, oldest first (as the feed orders entries), then
// adds live commits after them; it never says "no commits yet" there.
func TestShowsRecentHistory(t *testing.T) {
	img := commontest.New()
	img.Txs = past(5, 4)
	tm, tr := startOn(t, img)
	waitFor(t, tm, "tx 4", "note of 4", "tx 5", "note of 5", "2 entries")
	tm.Send(commit(6, "user", liveChange))
	waitFor(t, tm, "tx 6", "Lobby: +after", "3 entries")
	quit(t, tm)
	v := ansi.Strip(tr.View())
	if strings.Contains(v, "no commits yet") || !(strings.Index(v, "tx 4") < strings.Index(v, "tx 5") && strings.Index(v, "tx 5") < strings.Index(v, "tx 6")) {
		t.Fatalf("transcript on an image with history:\n%s", v)
	}
	if tr.Len() != 3 {
		t.Fatalf("%d entries, want 3", tr.Len())
	}
}

// TestEmptyHistory: while the history loads the pane says so; an image
// without commits then says they appear live.
func TestEmptyHistory(t *testing.T) {
	img := commontest.New()
	img.Txs = []api.Tx{}
	tr := transcript.New(&common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }})
	tr.SetSize(80, 5)
	d := &panetest.Driver{TB: t, Pane: tr}
	load := tr.Init()
	if v := panetest.Plain(tr.View()); !strings.Contains(v, "loading recent history") {
		t.Fatalf("while the history loads:\n%s", v)
	}
	d.Send(load())
	if v := panetest.Plain(tr.View()); !strings.Contains(v, "no commits yet") {
		t.Fatalf("on an image without commits:\n%s", v)
	}
}

// TestLiveCommitWhileHistoryLoads: the app subscribes before the pane
// asks for the history, so a commit made meanwhile may be in both, and its
// event may come before or after the history does. Each order is driven
// here: every commit is shown exactly once, oldest first, and the live
// one keeps its slot changes (which the history does not carry).
func TestLiveCommitWhileHistoryLoads(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history []api.Tx // what History answers, newest first
		steps   []string // "history", or "live N": the live commit of tx N
		order   []uint64 // the transactions shown, oldest first
	}{
		// tx 6 committed after the subscription, before History ran.
		{"live then history", past(6, 5, 4), []string{"live 6", "history"}, []uint64{4, 5, 6}},
		{"history then live", past(6, 5, 4), []string{"history", "live 6"}, []uint64{4, 5, 6}},
		// tx 6 committed after History ran: only live.
		{"after the history", past(5, 4), []string{"history", "live 6"}, []uint64{4, 5, 6}},
		{"after the history, first", past(5, 4), []string{"live 6", "history"}, []uint64{4, 5, 6}},
		// Two commits meanwhile, their events come out of order.
		{"out of order", past(7, 6, 5), []string{"live 7", "history", "live 6"}, []uint64{5, 7, 6}},
		{"history between", past(7, 6, 5), []string{"live 6", "history", "live 7"}, []uint64{5, 6, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := commontest.New()
			img.Txs = tc.history
			tr := transcript.New(&common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }})
			tr.SetSize(100, 12)
			d := &panetest.Driver{TB: t, Pane: tr}
			load := tr.Init() // in flight until its message is delivered
			live := map[uint64]bool{}
			for _, step := range tc.steps {
				var id uint64
				if _, err := fmt.Sscanf(step, "live %d", &id); err == nil {
					live[id] = true
					d.Send(commit(id, "user", liveChange))
					continue
				}
				d.Send(load())
			}
			v := panetest.Plain(tr.View())
			if tr.Len() != len(tc.order) {
				t.Fatalf("%d entries, want %d:\n%s", tr.Len(), len(tc.order), v)
			}
			at := -1
			for _, id := range tc.order {
				line := ""
				for _, l := range strings.Split(v, "\n") {
					if strings.Contains(l, fmt.Sprintf("tx %d ", id)) {
						if line != "" {
							t.Fatalf("tx %d shown twice:\n%s", id, v)
						}
						line = l
					}
				}
				i := strings.Index(v, line)
				if line == "" || i < at {
					t.Fatalf("tx %d missing or out of order (want %v):\n%s", id, tc.order, v)
				}
				at = i
				if live[id] && !strings.Contains(line, "Lobby: +after") {
					t.Fatalf("the live commit of tx %d lost its changes:\n%s", id, v)
				}
			}
		})
	}
}

// TestHistoryEntryDiff: a transaction from the history carries no slot
// changes; enter says where they are rather than that none were recorded.
func TestHistoryEntryDiff(t *testing.T) {
	img := commontest.New()
	img.Txs = past(3)
	tr := transcript.New(&common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }})
	tr.SetSize(120, 6)
	d := &panetest.Driver{TB: t, Pane: tr}
	d.Init()
	d.Focus()
	d.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	if v := panetest.Plain(tr.View()); !strings.Contains(v, "tx 3 note of 3") || !strings.Contains(v, "from the image's history") {
		t.Fatalf("a history entry expanded:\n%s", v)
	}
}
