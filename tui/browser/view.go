package browser

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// rect is a column's place in the pane; its first row is the column's
// header.
type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool { return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h }

type layout struct {
	tree, slots, source rect
	wide                bool
}

// wideWidth is the width from which the source sits beside the slots rather
// than under them.
const wideWidth = 110

func (m *Model) layout() layout {
	w, h := m.width, m.height-1 // the last row is the prompt / status line
	if w >= wideWidth {
		tw := w * 3 / 10
		sw := w / 4
		return layout{
			wide:   true,
			tree:   rect{0, 0, tw, h},
			slots:  rect{tw + 1, 0, sw, h},
			source: rect{tw + sw + 2, 0, w - tw - sw - 2, h},
		}
	}
	top := max(h/2, 2)
	tw := w / 2
	return layout{
		tree:   rect{0, 0, tw, top},
		slots:  rect{tw + 1, 0, w - tw - 1, top},
		source: rect{0, top, w, h - top},
	}
}

// focused reports whether column c has the keys.
func (m *Model) focused(c column) bool { return m.focus && m.col == c }

// View renders the pane: each sub-model renders only the visible rows of
// its column, in the size SetSize gave it.
func (m *Model) View() string {
	l := m.layout()
	sep := m.c.Styles.Dim.Render("│")
	tree := m.tree.View(m.focused(colTree))
	slots := m.slotList.View(m.focused(colSlots))
	src := m.sourceEditor.View(m.focused(colSource), m.slotList.selection())
	var rows []string
	if l.wide {
		rows = pane.Join(sep, tree, slots, src)
	} else {
		rows = append(pane.Join(sep, tree, slots), src...)
	}
	if err := m.slotList.refusal(); err != nil && len(rows) > 0 {
		// The refusal goes over the prompt, which keeps the last row.
		rows[len(rows)-1] = m.c.Styles.Error.Render(pane.Fit("✗ "+common.Sanitize(err.Error()), m.width))
	}
	rows = append(rows, pane.Fit(m.footer(), m.width))
	return strings.Join(rows, "\n")
}

// footer is the last line: a question or a prompt, else the status, else
// what the keys do.
func (m *Model) footer() string {
	st := m.c.Styles
	switch {
	case m.slotList.asking():
		return m.slotList.footer()
	case m.sourceEditor.discarding:
		return m.sourceEditor.question()
	case m.status != "" && m.statusErr:
		return st.Error.Render(m.status)
	case m.status != "":
		return st.Info.Render(m.status)
	case m.sourceEditor.hits != nil:
		return st.Dim.Render(m.sourceEditor.hits.what() + " · j/k move · enter opens · s senders · I implementors · i inspect · esc closes")
	}
	return st.Dim.Render(fmt.Sprintf("%d rows · enter expand · ] [ columns · e edit · a add · r rename · d remove · c clone · i inspect · s senders · I implementors", len(m.tree.rows)))
}

// --- rendering shared by the columns ----------------------------------------

// header renders a column's title row, marked when the column has the
// focus.
func header(st *common.Styles, title string, focused bool, w int) string {
	if focused {
		return st.Title.Render(pane.Fit("▍"+title, w))
	}
	return st.Dim.Render(pane.Fit(" "+title, w))
}

// selectedRow styles the cursor's row: reversed when its column has the
// focus, bold otherwise, and marked with › either way (for no colour).
func selectedRow(st *common.Styles, text string, focused bool, w int) string {
	text = pane.Fit("›"+ansi.Strip(text), w)
	if focused {
		return st.Selected.Render(text)
	}
	return lipgloss.NewStyle().Bold(true).Render(text)
}

// shortName is how a row names an object: its Ref's name without the
// " (object N)" the image adds to a name it found in a slot. (N is the
// Ref's OID: the name is not parsed.)
func shortName(r api.Ref) string {
	return strings.TrimSuffix(r.Name, " (object "+strconv.FormatUint(r.OID, 10)+")")
}

// anonymous reports whether r's name is only its number.
func anonymous(r api.Ref) bool { return r.Name == "object "+strconv.FormatUint(r.OID, 10) }

// refName is the short name of what r refers to, "" for nothing.
func refName(r *api.Ref) string {
	if r == nil {
		return ""
	}
	return shortName(*r)
}

// valueText is a slot value printed for people.
func valueText(v *api.Value) string {
	if v == nil {
		return ""
	}
	return v.Text
}

// valueType is a slot value's Go type.
func valueType(v *api.Value) string {
	if v == nil {
		return ""
	}
	return v.Type
}
