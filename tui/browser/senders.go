package browser

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// SendersMsg asks the browser to list the senders of Selector (the
// methods whose source sends it, api.Image.Senders) or, with
// Implementors, its implementors (the objects whose own slots define it,
// api.Image.Implementors), as the s and I keys do on a selected method.
// The list takes the source column: the user moves through it and enter
// browses the hit's object with its method selected. The app's command
// line sends it (:senders X, :implementors X) and focuses the browser;
// the browser refuses it, saying why on its status line, while an edit or
// a prompt holds a change.
type SendersMsg struct {
	Selector     string
	Implementors bool
}

// hitsLimit is how many hits a senders or implementors list shows at most.
const hitsLimit = 500

// hitList is the senders or implementors list over the source column.
type hitList struct {
	seq          int // the request the list shows, or waits for
	selector     string
	implementors bool
	loading      bool
	hits         []api.Hit
	err          error
	cursor, off  int
}

// what names the list: "senders of area", "implementors of area".
func (l *hitList) what() string {
	if l.implementors {
		return "implementors of " + l.selector
	}
	return "senders of " + l.selector
}

// hitsMsg answers the request seq of a list.
type hitsMsg struct {
	seq  int
	hits []api.Hit
	err  error
}

// listHits opens the list of the senders or implementors of selector and
// starts loading it.
func (m *Model) listHits(selector string, implementors bool) tea.Cmd {
	if m.Dirty() {
		if m.editing {
			m.setStatus("accept (ctrl+s) or cancel (esc) the edit first", true)
		} else {
			m.setStatus("finish (enter) or cancel (esc) the prompt first", true)
		}
		return nil
	}
	selector = common.Sanitize(strings.TrimSpace(selector))
	if selector == "" {
		m.setStatus("senders and implementors need a selector", true)
		return nil
	}
	if m.editing {
		m.stopEdit()
	}
	m.prompt, m.confirm = promptNone, confirmNone
	m.input.Blur()
	m.hitSeq++
	m.hits = &hitList{seq: m.hitSeq, selector: selector, implementors: implementors, loading: true}
	m.col = colSource
	img, seq := m.c.Image, m.hitSeq
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		var hits []api.Hit
		var err error
		if implementors {
			hits, err = img.Implementors(ctx, selector, hitsLimit)
		} else {
			hits, err = img.Senders(ctx, selector, hitsLimit)
		}
		for i := range hits {
			hits[i].Object = common.SanitizeRef(hits[i].Object)
			hits[i].Selector = common.Sanitize(hits[i].Selector)
		}
		return hitsMsg{seq: seq, hits: hits, err: err}
	}
}

// gotHits fills the list with the answer it waits for.
func (m *Model) gotHits(msg hitsMsg) {
	l := m.hits
	if l == nil || msg.seq != l.seq {
		return // closed, or another list opened since
	}
	l.loading, l.hits, l.err, l.cursor, l.off = false, msg.hits, msg.err, 0, 0
	if msg.err != nil {
		m.setStatus(l.what()+": "+msg.err.Error(), true)
	}
}

// hitsKey opens the list for the selected slot's selector, when it is a
// method or a primitive.
func (m *Model) hitsKey(implementors bool) tea.Cmd {
	e, ok := m.selectedSlot()
	if !ok {
		m.setStatus("no slot selected", true)
		return nil
	}
	if e.slot.Kind != api.KindMethod && e.slot.Kind != api.KindPrimitive {
		m.setStatus(fmt.Sprintf("%s is a %s slot: senders and implementors are a method's", e.slot.Name, e.slot.Kind), true)
		return nil
	}
	return m.listHits(e.slot.Name, implementors)
}

// closeHits closes the list.
func (m *Model) closeHits() {
	m.hits = nil
	m.hitSeq++ // an answer still coming is answered to no one
}

// listKey handles a key while the list is open: it moves through the
// list, enter browses the hit, s and I list the hit's selector's senders
// and implementors, esc and h close it.
func (m *Model) listKey(msg tea.KeyPressMsg) tea.Cmd {
	l, k := m.hits, m.keys
	page := max(m.layout().source.h-2, 1)
	switch {
	case key.Matches(msg, k.Down):
		l.cursor++
	case key.Matches(msg, k.Up):
		l.cursor--
	case key.Matches(msg, k.Top):
		l.cursor = 0
	case key.Matches(msg, k.Bottom):
		l.cursor = len(l.hits) - 1
	case key.Matches(msg, k.PageDown):
		l.cursor += page
	case key.Matches(msg, k.PageUp):
		l.cursor -= page
	case key.Matches(msg, k.Cancel), key.Matches(msg, k.Collapse):
		m.closeHits()
		return nil
	case key.Matches(msg, k.Expand):
		if l.cursor >= len(l.hits) {
			return nil
		}
		h := l.hits[l.cursor]
		m.closeHits()
		return m.browse(h.Object.OID, h.Selector)
	case key.Matches(msg, k.Senders), key.Matches(msg, k.Implementors):
		if l.cursor >= len(l.hits) {
			return nil
		}
		return m.listHits(l.hits[l.cursor].Selector, key.Matches(msg, k.Implementors))
	case key.Matches(msg, k.Inspect):
		if l.cursor >= len(l.hits) {
			return nil
		}
		oid := l.hits[l.cursor].Object.OID
		return func() tea.Msg { return common.InspectMsg{OID: oid} }
	}
	l.cursor = pane.Clamp(l.cursor, len(l.hits))
	m.scrollHits()
	return nil
}

func (m *Model) scrollHits() {
	if l := m.hits; l != nil {
		l.off = pane.Scroll(l.cursor, l.off, m.layout().source.h-1, len(l.hits))
	}
}

// hitsView renders the list in r, the source column's place.
func (m *Model) hitsView(r rect) []string {
	st := m.c.Styles
	l := m.hits
	title := strings.ToUpper(l.what()[:1]) + l.what()[1:]
	switch {
	case l.loading:
		title += " — searching…"
	case l.err == nil:
		n := fmt.Sprint(len(l.hits))
		if len(l.hits) == hitsLimit {
			n = "first " + n
		}
		title += fmt.Sprintf(" (%s) — enter opens · esc closes", n)
	}
	out := []string{m.header(title, colSource, r.w)}
	switch {
	case l.loading:
	case l.err != nil:
		out = append(out, st.Error.Render(pane.Fit(" ✗ "+common.Sanitize(l.err.Error()), r.w)))
	case len(l.hits) == 0:
		out = append(out, st.Dim.Render(pane.Fit(" no "+l.what(), r.w)))
	}
	end := min(l.off+r.h-1, len(l.hits))
	for i := l.off; i < end; i++ {
		h := l.hits[i]
		on := h.Object.Name
		if !anonymous(h.Object) {
			on = shortName(h.Object) + " #" + fmt.Sprint(h.Object.OID)
		}
		text := h.Selector + "()  " + st.Dim.Render("on "+on)
		if i == l.cursor {
			out = append(out, m.selectedRow(text, colSource, r.w))
		} else {
			out = append(out, pane.Fit(" "+text, r.w))
		}
	}
	return pane.Block(out, r.w, r.h)
}

// clickHits puts the list's cursor on the row clicked in r.
func (m *Model) clickHits(r rect, y int) {
	l := m.hits
	if i := l.off + y - r.y - 1; y > r.y && i < len(l.hits) {
		l.cursor = i
	}
}
