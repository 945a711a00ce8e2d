package history

import (
	"strings"
	"testing"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/internal/panetest"
)

// TestChangesCapped: the changes kept from live events stay bounded.
func TestChangesCapped(t *testing.T) {
	m := New(panetest.Common(commontest.New()))
	m.SetSize(80, 24)
	for id := uint64(1); id <= 3*MaxChanges; id++ {
		m.Update(common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: id, Principal: "user"},
			Changes: []api.Change{{Object: api.Ref{OID: 1, Name: "Lobby"}}}}})
	}
	if n := len(m.changes); n > MaxChanges+MaxChanges/10 {
		t.Fatalf("%d transactions' changes kept, cap %d", n, MaxChanges)
	}
	if _, ok := m.changes[3*MaxChanges]; !ok {
		t.Fatal("the newest changes were dropped")
	}
}

// TestNotesSanitized: a transaction's note cannot drive the terminal.
func TestNotesSanitized(t *testing.T) {
	m := New(panetest.Common(commontest.New()))
	m.SetSize(100, 20)
	m.Focus()
	m.Update(common.EventMsg{Event: api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 9, Principal: "user", Note: "evil\x1b[2J\x07\r note"},
		Changes: []api.Change{{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "f", Kind: api.KindMethod, Op: "added", After: "func f() {\x1b]0;x\x07}"}}}}}})
	v := m.View()
	for _, bad := range []string{"\x1b[2J", "\x1b]0", "\x07", "\r"} {
		if strings.Contains(v, bad) {
			t.Errorf("view holds %q:\n%q", bad, v)
		}
	}
	if !panetest.Contains(v, "evil note") {
		t.Errorf("view:\n%s", panetest.Plain(v))
	}
}
