package app_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestOverlaysDrawOverPanes: the help, the search and the quit question
// are drawn over the panes, which stay visible around them, not on a
// blanked screen.
func TestOverlaysDrawOverPanes(t *testing.T) {
	for _, c := range []struct {
		name, keys, want string
		dirty            bool
	}{
		{"help", "?", "Global keys", false},
		{"search", "/", "object or selector", false},
		{"quit question", "q", "quit anyway? y/n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ta := newTypeAhead(t)
			ta.panes["Inspector"].dirty = c.dirty
			ta.send(c.keys)
			r := ta.app.Render()
			plain := ansi.Strip(r)
			for _, want := range []string{c.want, "[Browser]", "Inspector pane", "History pane", "╰──", "batos │"} {
				if !strings.Contains(plain, want) {
					t.Fatalf("%q not on screen:\n%s", want, plain)
				}
			}
			lines := strings.Split(r, "\n")
			if len(lines) != 30 {
				t.Fatalf("%d lines, want 30:\n%s", len(lines), plain)
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > 120 {
					t.Fatalf("line %d is %d wide, more than the terminal's 120:\n%s", i, w, plain)
				}
			}
			if !strings.HasPrefix(ansi.Strip(lines[0]), "┏━[Browser]") {
				t.Fatalf("the top row is not the browser's border:\n%s", plain)
			}
		})
	}
}
