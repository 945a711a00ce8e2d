package app_test

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// zoomedFull reports whether the screen shows only the focused pane
// title, its box as wide as the w-column terminal and as tall as all of
// the screen above the info line and the status bar.
func zoomedFull(title string, w, h int) func(string) bool {
	return func(s string) bool {
		lines := strings.Split(s, "\n")
		if len(lines) != h || !strings.HasPrefix(lines[0], "┏━["+title+"]") || !strings.HasSuffix(lines[0], "┓") ||
			ansi.StringWidth(lines[0]) != w {
			return false
		}
		bottom := lines[h-3]
		if !strings.HasPrefix(bottom, "┗") || !strings.HasSuffix(bottom, "┛") || ansi.StringWidth(bottom) != w {
			return false
		}
		for _, other := range []string{"Browser", "Inspector", "History", "Transcript"} {
			if other != title && strings.Contains(s, other) {
				return false
			}
		}
		return true
	}
}

// TestZoomWorkspace: + makes the focused pane fill the screen above the
// help line and the status bar at 80×24 and restores the layout; while
// zoomed a click where another pane was reaches only the zoomed pane.
func TestZoomWorkspace(t *testing.T) {
	h := start(t, 80, 24)
	h.keys(tab, tab, tab)
	h.wait(t, "[Workspace]")
	h.keys(char('+')) // typing: + goes into the text
	h.wait(t, "┃ 1 +")
	h.keys(tea.KeyPressMsg{Code: tea.KeyBackspace}, esc, char('+'))
	h.screen.WaitUntil(t, 5*time.Second, "the workspace zoomed to 80×22", zoomedFull("Workspace", 80, 24))
	if !h.app.Zoomed() {
		t.Fatal("the app does not say it is zoomed")
	}
	// Where the history pane was: the click reaches the workspace, which
	// keeps the focus.
	h.tm.Send(tea.MouseClickMsg{X: 75, Y: 2, Button: tea.MouseLeft})
	h.keys(char('=')) // = too, unshifted
	h.wait(t, "[Workspace]", " Browser ", " History ", " Transcript ")
	h.keys(char('q'))
	h.finish(t)
	if h.app.Zoomed() {
		t.Fatal("still zoomed after the second +")
	}
}

// TestZoomFollowsFocus: tab while zoomed zooms the next pane.
func TestZoomFollowsFocus(t *testing.T) {
	h := start(t, 80, 24)
	h.keys(char('+'))
	h.screen.WaitUntil(t, 5*time.Second, "the browser zoomed", zoomedFull("Browser", 80, 24))
	h.keys(tab)
	h.screen.WaitUntil(t, 5*time.Second, "the inspector zoomed", zoomedFull("Inspector", 80, 24))
	h.keys(char('q'))
	h.finish(t)
}

// TestZoomGolden renders the zoomed workspace at 80×24; -update rewrites
// testdata/TestZoomGolden.golden.
func TestZoomGolden(t *testing.T) {
	h := start(t, 80, 24)
	h.keys(tab, tab, tab)
	h.wait(t, "[Workspace]")
	h.keys(esc, char('+'))
	h.screen.WaitUntil(t, 5*time.Second, "the workspace zoomed", zoomedFull("Workspace", 80, 24))
	h.keys(char('q'))
	h.finish(t)
	golden.RequireEqual(t, h.app.Render())
}
