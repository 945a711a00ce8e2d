package app_test

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func typeText(h *harness, s string) {
	for _, r := range s {
		h.keys(char(r))
	}
}

// TestInspectCommandCancels: :inspect runs off the loop with the spinner,
// and esc cancels it.
func TestInspectCommandCancels(t *testing.T) {
	h := start(t, 120, 30)
	h.img.Block = make(chan struct{}) // never released: only cancel ends it
	h.keys(char(':'))
	typeText(h, "inspect slow()")
	h.keys(enter)
	h.wait(t, "working")
	h.keys(esc)
	h.wait(t, ":inspect cancelled")
	h.screen.WaitUntil(t, 5*time.Second, "the spinner gone", func(s string) bool { return !strings.Contains(s, "working") })
	h.keys(char('q')) // nothing running: no question
	h.finish(t)
}

// TestQuitWhileBusyAsks: quitting while the workspace evaluates asks, and
// yes quits.
func TestQuitWhileBusyAsks(t *testing.T) {
	h := start(t, 120, 30)
	h.img.Block = make(chan struct{})
	h.keys(tab, tab, tab) // the workspace
	h.wait(t, "[Workspace]")
	typeText(h, "slow()")
	h.keys(tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl})
	h.wait(t, "esc cancels")
	h.keys(ctrlC)
	h.wait(t, "Workspace is still working (quitting cancels it): quit anyway? y/n")
	h.keys(char('y'))
	h.finish(t)
}

// TestCtrlCQuitsFromOverlays: ctrl+c quits from the command line and the
// search overlay too, asking first when a pane is dirty.
func TestCtrlCQuitsFromOverlays(t *testing.T) {
	h := start(t, 120, 30)
	h.keys(char(':'))
	typeText(h, "brow")
	h.keys(ctrlC)
	h.finish(t)

	h = start(t, 120, 30)
	h.panes["Inspector"].dirty = true
	h.keys(char('/'))
	typeText(h, "print")
	h.wait(t, "printString")
	h.keys(ctrlC)
	h.wait(t, "unsaved edit in Inspector: quit anyway? y/n")
	h.keys(char('y'))
	h.finish(t)
}

// TestPasteReachesOverlay: a paste while the command line is open goes to
// it, not to the focused pane.
func TestPasteReachesOverlay(t *testing.T) {
	h := start(t, 120, 30)
	h.keys(char(':'))
	h.tm.Send(tea.PasteMsg{Content: "transcript"})
	h.wait(t, ":transcript")
	h.keys(enter)
	h.wait(t, "[Transcript]")
	h.keys(char('/'))
	h.tm.Send(tea.PasteMsg{Content: "printS"})
	h.wait(t, "printString", "on Lobby")
	h.keys(esc, char('q'))
	h.finish(t)
}

// TestHelpLineWhileEditing: while the focused pane takes text, the help
// line offers only the pane's keys and f1, shift+tab, ctrl+c.
func TestHelpLineWhileEditing(t *testing.T) {
	h := start(t, 160, 30)
	h.wait(t, "tab next pane")
	h.keys(tab, tab, tab)
	h.wait(t, "[Workspace]", "ctrl+d do it", "f1 help", "ctrl+c quit")
	h.screen.WaitUntil(t, 5*time.Second, "no tab or ? in the help line", func(s string) bool {
		return !strings.Contains(s, "tab next pane") && !strings.Contains(s, "this help")
	})
	h.keys(esc) // stop typing: the global keys come back
	h.wait(t, "tab next pane")
	h.keys(char('q'))
	h.finish(t)
}

// TestSearchDebounced: typing a word runs one search after the typing
// pauses, not one per key.
func TestSearchDebounced(t *testing.T) {
	h := start(t, 120, 30)
	h.keys(char('/'))
	typeText(h, "printString")
	h.wait(t, "printString", "on Lobby")
	time.Sleep(200 * time.Millisecond) // any late search would have run
	if n := h.img.Searches(); n >= len("printString") {
		t.Fatalf("%d searches for %d keys", n, len("printString"))
	}
	h.keys(esc, char('q'))
	h.finish(t)
}
