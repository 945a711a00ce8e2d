package transcript

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/common/commontest"
)

// TestScrollIsOutsideView: moving up from the end of a long feed sets the
// offset in move (walking back O(height)), and View leaves it alone.
func TestScrollIsOutsideView(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles(), Clock: func() time.Time { return time.Unix(0, 0) }}
	m := New(c)
	m.SetSize(80, 11)
	m.Focus()
	for i := 0; i < MaxEntries; i++ {
		m.event(api.Event{Type: api.EventOutput, Output: "line\n"})
	}
	m.Update(tea.KeyPressMsg{Code: 'k', Text: "k"})
	if m.follow {
		t.Fatal("still following after k")
	}
	want := m.cursor - 9 // ten one-line entries fit under the header
	if m.offset != want {
		t.Fatalf("offset after k = %d, want %d", m.offset, want)
	}
	v := m.View()
	if m.offset != want {
		t.Fatalf("View moved offset to %d", m.offset)
	}
	if v != m.View() {
		t.Fatal("View not stable")
	}
	lines := strings.Split(v, "\n")
	if len(lines) != 11 {
		t.Fatalf("%d lines", len(lines))
	}
}

// TestSanitized: script output and pLLM tokens cannot drive the terminal.
func TestSanitized(t *testing.T) {
	c := &common.Common{Image: commontest.New(), Styles: common.DefaultStyles(), Clock: func() time.Time { return time.Unix(0, 0) }}
	m := New(c)
	m.SetSize(80, 10)
	m.event(api.Event{Type: api.EventOutput, Output: "red \x1b[31mtext\x1b[0m\rbell\x07\n"})
	m.event(api.Event{Type: api.EventToken, Token: &api.Token{Persona: "BRICK", Selector: "f", Text: "tok\x1b]0;title\x07en\tx"}})
	m.event(api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 3, Principal: "user", Note: "no\x1b[2Jte"}})
	v := m.View()
	for _, bad := range []string{"\x1b[31m", "\x1b[2J", "\x1b]0", "\r", "\x07"} {
		if strings.Contains(v, bad) {
			t.Errorf("view holds %q:\n%q", bad, v)
		}
	}
	for _, good := range []string{"red textbell", "token    x", "note"} {
		if !strings.Contains(v, good) {
			t.Errorf("view lacks %q:\n%s", good, v)
		}
	}
}
