package workspace_test

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/workspace"
)

// results runs cmd, a batch's commands each, and returns their messages.
func results(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			if c == nil {
				continue
			}
			out = append(out, results(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// TestDoItBeforeHistoryLoadsIsSaved: an input done before the history the
// pane loads at start arrives (keys typed ahead of it) is recorded by the
// image; the history read before it must not make it count as unsaved.
func TestDoItBeforeHistoryLoadsIsSaved(t *testing.T) {
	ws := workspace.New(&common.Common{Image: commontest.New(), Styles: common.DefaultStyles()})
	ws.SetSize(60, 10)
	loaded := results(ws.Init()) // held back: they arrive after the do-it
	ws.Focus()
	ws.SetValue("x := 1")
	_, cmd := ws.Update(key("ctrl+d"))
	for _, msg := range results(cmd) {
		ws.Update(msg)
	}
	if ws.Busy() || ws.Dirty() {
		t.Fatalf("after the do-it: busy %v, dirty %v", ws.Busy(), ws.Dirty())
	}
	for _, msg := range loaded {
		ws.Update(msg)
	}
	if ws.Dirty() {
		t.Fatal("the history loaded at start made an input done since count as unsaved")
	}
}
