package app_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/tui/common"
)

// words is n numbered words, w001 w002 …, then END.
func words(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "w%03d ", i)
	}
	return b.String() + "END"
}

// pagerBox is the part of screen inside the pager's frame.
func pagerBox(screen string) string {
	var box []string
	for _, l := range strings.Split(screen, "\n") {
		if _, in, ok := strings.Cut(l, "║"); ok {
			in, _, _ = strings.Cut(in, "║")
			box = append(box, in)
		}
	}
	return strings.Join(box, "\n")
}

// TestPagerShowsLastErrorInFull: an error longer than the screen is wide
// is cut on the info line; ctrl+l shows it whole, wrapped to the pager's
// width (no word cut, no "…"), j and G scroll it, esc closes the pager,
// and ctrl+l shows it again after the message left the info line.
func TestPagerShowsLastErrorInFull(t *testing.T) {
	h := start(t, 80, 24)
	long := words(400) // 29 lines of 72 columns: more than the pager's 18
	h.tm.Send(common.ErrMsg{Err: errors.New(long)})
	h.wait(t, "✗ w001 w002")
	if s := h.screen.Screen(); strings.Contains(s, "END") || !strings.Contains(s, "…") {
		t.Fatalf("the info line does not cut the message:\n%s", s)
	}
	h.keys(ctrlL)
	h.wait(t, "Last error", "lines 1–18 of 29", "esc/q close")
	top := h.screen.Screen()
	if box := pagerBox(top); strings.Contains(box, "…") || strings.Contains(box, "END") {
		t.Fatalf("the pager's first page cuts or shows the end:\n%s", top)
	}
	h.keys(char('j'))
	h.wait(t, "lines 2–19 of 29")
	h.keys(char('G'))
	h.wait(t, "lines 12–29 of 29", "w400 END")
	bottom := h.screen.Screen()
	for _, w := range strings.Fields(long) {
		if !strings.Contains(pagerBox(top), w) && !strings.Contains(pagerBox(bottom), w) {
			t.Fatalf("%s is not readable in the pager; top:\n%s\nbottom:\n%s", w, top, bottom)
		}
	}
	for i, l := range strings.Split(bottom, "\n") {
		if w := len([]rune(l)); w > 80 {
			t.Fatalf("line %d is %d wide:\n%s", i, w, bottom)
		}
	}
	h.keys(char('g'))
	h.wait(t, "lines 1–18 of 29")
	h.keys(esc)
	h.screen.WaitUntil(t, 5*time.Second, "the pager closed and the error cleared", func(s string) bool {
		return !strings.Contains(s, "Last error") && !strings.Contains(s, "w001")
	})
	h.keys(ctrlL) // the last message, though the info line no longer shows it
	h.wait(t, "Last error", "w001")
	h.keys(char('q')) // closes the pager, does not quit
	h.screen.WaitUntil(t, 5*time.Second, "the pager closed", func(s string) bool { return !strings.Contains(s, "Last error") })
	h.keys(char('q'))
	h.finish(t)
}

// TestHelpCommand: :help shows the script API, the commands and the limits
// in the pager; ? says that :help exists.
func TestHelpCommand(t *testing.T) {
	h := start(t, 120, 30)
	h.keys(char('?'))
	h.wait(t, "Global keys", ":help the script API", "ctrl+l", "in a pager")
	h.keys(esc, char(':'))
	typeText(h, "help")
	h.keys(enter)
	h.wait(t, "Help: the script API", `o.Send("area", 3)`, "o := NewObject()")
	h.keys(char('G'))
	h.wait(t, "TUI commands: :workspace", "s and I in the browser list senders")
	h.keys(esc)
	h.screen.WaitUntil(t, 5*time.Second, "the help closed", func(s string) bool { return !strings.Contains(s, "Help: the script API") })
	h.keys(char('q'))
	h.finish(t)
}

// TestPaneOpensPager: a pane's common.PagerMsg opens the pager over the
// panes (the info line and the status bar stay in view), its text wrapped;
// the mouse wheel scrolls it.
func TestPaneOpensPager(t *testing.T) {
	h := start(t, 80, 24)
	h.tm.Send(common.PagerMsg{Title: "Workspace: long", Text: "first\n" + words(400)})
	h.wait(t, "Workspace: long", "first", "w001", "lines 1–18 of 30", "Browser action")
	h.tm.Send(tea.MouseWheelMsg{X: 40, Y: 10, Button: tea.MouseWheelDown})
	h.wait(t, "lines 4–21 of 30")
	h.keys(char('q'))
	h.screen.WaitUntil(t, 5*time.Second, "the pager closed", func(s string) bool { return !strings.Contains(s, "Workspace: long") })
	h.keys(char('q'))
	h.finish(t)
}

// TestInfoClearsOnAnyKey: a line of information leaves the info line at
// the next key, whatever it does: tab, shift+tab, /, :, a click.
func TestInfoClearsOnAnyKey(t *testing.T) {
	h := start(t, 120, 30)
	gone := func(what string) {
		t.Helper()
		h.screen.WaitUntil(t, 5*time.Second, what, func(s string) bool { return !strings.Contains(s, "reverted tx") })
	}
	for _, c := range []struct {
		name string
		keys []tea.Msg
	}{
		{"tab", []tea.Msg{tab}},
		{"shift+tab", []tea.Msg{shiftTab}},
		{"/", []tea.Msg{char('/'), esc}},
		{":", []tea.Msg{char(':'), esc}},
		{"a click", []tea.Msg{tea.MouseClickMsg{X: 110, Y: 2, Button: tea.MouseLeft}}},
	} {
		h.tm.Send(common.InfoMsg{Text: "reverted tx 5 (" + c.name + ")"})
		h.wait(t, "• reverted tx 5 ("+c.name+")")
		for _, k := range c.keys {
			h.tm.Send(k)
		}
		gone("the message cleared by " + c.name)
	}
	h.keys(char('q'))
	h.finish(t)
}
