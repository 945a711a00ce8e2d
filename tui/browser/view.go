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

// View renders the pane: only the visible rows of each column.
func (m *Model) View() string {
	l := m.layout()
	sep := m.c.Styles.Dim.Render("│")
	tree := m.treeView(l.tree)
	slots := m.slotsView(l.slots)
	src := m.sourceView(l.source)
	var rows []string
	if l.wide {
		rows = pane.Join(sep, tree, slots, src)
	} else {
		rows = append(pane.Join(sep, tree, slots), src...)
	}
	if m.prompt != promptNone && m.promptErr != nil && len(rows) > 0 {
		// The refusal goes over the prompt, which keeps the last row.
		rows[len(rows)-1] = m.c.Styles.Error.Render(pane.Fit("✗ "+common.Sanitize(m.promptErr.Error()), m.width))
	}
	rows = append(rows, pane.Fit(m.footer(), m.width))
	return strings.Join(rows, "\n")
}

func (m *Model) header(title string, c column, w int) string {
	st := m.c.Styles
	if m.focus && m.col == c {
		return st.Title.Render(pane.Fit("▍"+title, w))
	}
	return st.Dim.Render(pane.Fit(" "+title, w))
}

// selectedRow styles the cursor's row: reversed when its column has the
// focus, bold otherwise, and marked with › either way (for no colour).
func (m *Model) selectedRow(text string, c column, w int) string {
	text = pane.Fit("›"+ansi.Strip(text), w)
	if m.focus && m.col == c {
		return m.c.Styles.Selected.Render(text)
	}
	return lipgloss.NewStyle().Bold(true).Render(text)
}

func (m *Model) treeView(r rect) []string {
	out := make([]string, 0, r.h)
	title := "Objects"
	if m.detached {
		title = "Objects (selection not reachable from Lobby)"
	}
	out = append(out, m.header(title, colTree, r.w))
	end := min(m.treeOff+r.h-1, len(m.rows))
	for i := m.treeOff; i < end; i++ {
		text := m.treeRow(m.rows[i])
		if i == m.cursor && !m.detached {
			out = append(out, m.selectedRow(text, colTree, r.w))
		} else {
			out = append(out, pane.Fit(" "+text, r.w))
		}
	}
	return pane.Block(out, r.w, r.h)
}

func (m *Model) treeRow(r row) string {
	if r.more > 0 {
		return strings.Repeat("  ", r.depth) + m.c.Styles.Dim.Render("… "+strconv.Itoa(r.more)+" more "+r.slot+" (enter shows them)")
	}
	marker := "▸"
	if m.expanded[r.path] {
		marker = "▾"
	} else if kids, ok := m.kids[r.oid]; ok && len(kids) == 0 {
		marker = "·"
	}
	label := r.slot
	if r.depth == 0 {
		label = r.name
	}
	ref := api.Ref{OID: r.oid, Name: r.name}
	if name := shortName(ref); !anonymous(ref) && name != label && name != "" {
		label += " " + name
	}
	return strings.Repeat("  ", r.depth) + marker + " " + label + " " + m.c.Styles.Dim.Render("#"+strconv.FormatUint(r.oid, 10))
}

// shortName is how a row names an object: its Ref's name without the
// " (object N)" the image adds to a name it found in a slot. (N is the
// Ref's OID: the name is not parsed.)
func shortName(r api.Ref) string {
	return strings.TrimSuffix(r.Name, " (object "+strconv.FormatUint(r.OID, 10)+")")
}

// anonymous reports whether r's name is only its number.
func anonymous(r api.Ref) bool { return r.Name == "object "+strconv.FormatUint(r.OID, 10) }

func (m *Model) slotsView(r rect) []string {
	st := m.c.Styles
	out := make([]string, 0, r.h)
	title := "Slots"
	if m.objLoaded {
		title = "Slots of " + m.obj.Name
	}
	out = append(out, m.header(title, colSlots, r.w))
	end := min(m.slotOff+r.h-1, len(m.entries))
	for i := m.slotOff; i < end; i++ {
		e := m.entries[i]
		if !e.isSlot() {
			out = append(out, st.Dim.Render(pane.Fit(" "+e.header, r.w)))
			continue
		}
		text := m.slotRow(e)
		if i == m.slotCursor {
			out = append(out, m.selectedRow(text, colSlots, r.w))
		} else {
			out = append(out, pane.Fit(" "+text, r.w))
		}
	}
	if !m.objLoaded {
		out = append(out, st.Dim.Render(" loading…"))
	}
	return pane.Block(out, r.w, r.h)
}

func (m *Model) slotRow(e entry) string {
	st := m.c.Styles
	s := e.slot
	var text string
	switch s.Kind {
	case api.KindMethod:
		text = s.Name + "()"
	case api.KindPrimitive:
		text = s.Name + " ⚙"
	case api.KindParent:
		text = s.Name + " → " + refName(s.Target())
	default:
		if t := s.Target(); t != nil {
			text = s.Name + " → " + shortName(*t)
		} else {
			text = s.Name + " = " + pane.OneLine(valueText(s.Value)) // rows are one line
		}
	}
	if e.inherited {
		return "  " + st.Dim.Render(text+" ("+shortName(s.Holder)+")")
	}
	ks, ok := st.Kind[s.Kind]
	if !ok {
		return "  " + text
	}
	return "  " + ks.Render(text)
}

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

func (m *Model) sourceView(r rect) []string {
	st := m.c.Styles
	if m.editing {
		title := fmt.Sprintf("Editing %s › %s", shortName(api.Ref{OID: m.editOID, Name: m.editHolder}), m.editSel)
		if m.Dirty() {
			title += " *"
		}
		title += " — ctrl+s accept · esc cancel"
		out := []string{m.header(title, colSource, r.w)}
		return pane.Block(append(out, m.editorView(r)...), r.w, r.h)
	}
	if m.hits != nil {
		return m.hitsView(r)
	}
	e, ok := m.selectedSlot()
	if !ok {
		out := []string{m.header("Source", colSource, r.w)}
		if m.objLoaded {
			out = append(out, st.Dim.Render(fmt.Sprintf(" %s: %d slots, %d inherited", m.obj.Name, len(m.obj.Slots), len(m.obj.Inherited))))
		}
		return pane.Block(out, r.w, r.h)
	}
	s := e.slot
	title := fmt.Sprintf("%s › %s", shortName(s.Holder), s.Name)
	var body []string
	switch s.Kind {
	case api.KindMethod:
		if s.Author != "" {
			// Who wrote it: a model's methods run under the write policy.
			title += " · by " + s.Author
		}
		lines := m.hl.Lines(s.Source)
		for i, l := range lines {
			body = append(body, st.Dim.Render(fmt.Sprintf("%4d ", i+1))+l)
		}
	case api.KindPrimitive:
		body = []string{" primitive " + s.Source, "", st.Dim.Render(" a Go-native behaviour, persisted by name")}
	default:
		body = []string{fmt.Sprintf(" %s %s", s.Name, st.Dim.Render(valueType(s.Value)))}
		for _, l := range strings.Split(valueText(s.Value), "\n") {
			body = append(body, " = "+l)
		}
		switch {
		case s.Target() != nil && !e.inherited:
			body = append(body, "", st.Dim.Render(" enter browses it · i inspects it · e sets it to a Go literal"))
		case s.Target() != nil:
			body = append(body, "", st.Dim.Render(" enter browses it · i inspects it"))
		case !e.inherited:
			body = append(body, "", st.Dim.Render(" e sets it to a Go literal"))
		}
	}
	off := min(m.srcOff, max(len(body)-1, 0))
	out := []string{m.header(title, colSource, r.w)}
	out = append(out, body[off:]...)
	return pane.Block(out, r.w, r.h)
}

// editorView renders the textarea, with the compile error on a row of its
// own under the line it names (at the bottom when it names none or that
// line is scrolled away).
func (m *Model) editorView(r rect) []string {
	lines := strings.Split(strings.TrimRight(m.editor.View(), "\n"), "\n")
	if m.editErr == nil {
		return lines
	}
	msg := m.c.Styles.Error.Render(pane.Fit("  ✗ "+common.Sanitize(m.editErr.Error()), r.w))
	at := len(lines)
	if m.editErrLine > 0 {
		want := strconv.Itoa(m.editErrLine)
		for i, l := range lines {
			plain := ansi.Strip(l)
			if len(plain) >= 5 && strings.TrimSpace(plain[:5]) == want {
				at = i + 1
				// Past the line's soft-wrapped continuation rows.
				for at < len(lines) && strings.TrimSpace(safePrefix(ansi.Strip(lines[at]), 5)) == "" && at-i < 8 {
					if strings.TrimSpace(ansi.Strip(lines[at])) == "" {
						break
					}
					at++
				}
				break
			}
		}
	}
	out := make([]string, 0, len(lines)+1)
	out = append(out, lines[:at]...)
	out = append(out, msg)
	return append(out, lines[at:]...)
}

func safePrefix(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

func (m *Model) footer() string {
	st := m.c.Styles
	switch {
	case m.confirm == confirmRemove:
		e, _ := m.selectedSlot()
		return st.Error.Render(fmt.Sprintf("remove slot %s from %s? y/n", e.slot.Name, m.obj.Name))
	case m.confirm == confirmDiscard:
		return st.Error.Render("discard the unsaved edit of " + m.editSel + "? y/n")
	case m.prompt != promptNone:
		return st.Title.Render(m.promptLabel()) + m.input.View()
	case m.status != "" && m.statusErr:
		return st.Error.Render(m.status)
	case m.status != "":
		return st.Info.Render(m.status)
	case m.hits != nil:
		return st.Dim.Render(m.hits.what() + " · j/k move · enter opens · s senders · I implementors · i inspect · esc closes")
	}
	return st.Dim.Render(fmt.Sprintf("%d rows · enter expand · ] [ columns · e edit · a add · r rename · d remove · c clone · i inspect · s senders · I implementors", len(m.rows)))
}
