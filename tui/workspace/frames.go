package workspace

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
)

// frameLine is one frame of a failed chain of sends as the pane shows it,
// under the error: receiver.selector:line, the object the method was
// found on when it is another, and an arrow to the next frame.
func frameLine(f api.Frame, last bool) string {
	recv := f.Object.Name
	if recv == "" {
		recv = "object " + strconv.FormatUint(f.Object.OID, 10)
	}
	s := "  " + common.SanitizeLine(recv) + "." + common.SanitizeLine(f.Selector)
	if f.Line > 0 {
		s += ":" + strconv.Itoa(f.Line)
	}
	switch {
	case f.Holder == nil:
		s += " (primitive)"
	case f.Holder.OID != f.Object.OID:
		holder := f.Holder.Name
		if holder == "" {
			holder = "object " + strconv.FormatUint(f.Holder.OID, 10)
		}
		s += " (method of " + common.SanitizeLine(holder) + ")"
	}
	if !last {
		s += " →"
	}
	return s
}

// showError shows a failed evaluation of b: the error, with the buffer's
// line when b does not begin the buffer, and under it the chain of sends
// that led to it (api.Error.Frames), outermost first, one a line.
func (m *Model) showError(err error, b block) {
	lines := strings.Split("error: "+err.Error(), "\n")
	var ae *api.Error
	if errors.As(err, &ae) && ae.Line > 0 && b.first > 0 {
		lines[0] += fmt.Sprintf(" (line %d of the buffer)", b.first+ae.Line)
	}
	head := len(lines)
	if ae != nil {
		for i, f := range ae.Frames {
			lines = append(lines, frameLine(f, i == len(ae.Frames)-1))
		}
	}
	m.show(true, lines...)
	if ae != nil && len(ae.Frames) > 0 {
		m.frames, m.frameRow = ae.Frames, head
	}
}

// frameKey handles a key while the last error shows frames: the Frames
// key selects the innermost (where it failed), then the next one out,
// round; while one is selected, up and down move, enter browses its
// method, esc unselects, and any other key unselects and goes on as
// usual (handled is false).
func (m *Model) frameKey(msg tea.KeyPressMsg) (cmd tea.Cmd, handled bool) {
	if key.Matches(msg, m.keys.Frames) {
		switch {
		case len(m.frames) == 0:
			return func() tea.Msg {
				return common.InfoMsg{Text: "no chain of sends: ctrl+n selects a frame of the last error's, when it has one"}
			}, true
		case m.frameSel <= 0:
			m.frameSel = len(m.frames) - 1
		default:
			m.frameSel--
		}
		return nil, true
	}
	if m.frameSel < 0 {
		return nil, false
	}
	switch {
	case key.Matches(msg, m.keys.BrowseFrame):
		f := m.frames[m.frameSel]
		m.frameSel = -1
		if f.Holder == nil {
			text := common.SanitizeLine(f.Selector) + " is a primitive: it has no source to browse"
			return func() tea.Msg { return common.InfoMsg{Text: text} }, true
		}
		return m.c.Navigate(common.BrowseMsg{OID: f.Holder.OID, Selector: f.Selector, Line: f.Line}), true
	case msg.String() == "up":
		m.frameSel = max(m.frameSel-1, 0)
		return nil, true
	case msg.String() == "down":
		m.frameSel = min(m.frameSel+1, len(m.frames)-1)
		return nil, true
	case key.Matches(msg, m.keys.Cancel):
		m.frameSel = -1
		return nil, true
	}
	m.frameSel = -1
	return nil, false
}

// outputRows picks which of n output lines fit in h rows: all of them,
// or the first h-1 and a count of the others (-1); when that would cut
// the selected line sel, the first line (the error's), the lines up to
// sel, and the count.
func outputRows(n, h, sel int) []int {
	rows := make([]int, 0, min(n, h))
	if n <= h {
		for i := range n {
			rows = append(rows, i)
		}
		return rows
	}
	keep := h - 1
	if sel < keep || keep < 2 {
		for i := range keep {
			rows = append(rows, i)
		}
		return append(rows, -1)
	}
	rows = append(rows, 0)
	for i := sel - (keep - 2); i <= sel; i++ {
		rows = append(rows, i)
	}
	return append(rows, -1)
}
