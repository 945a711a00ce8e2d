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

// hitList is the senders or implementors list over the source column:
// the source editor opens it (openHits), hands it the keys while it is
// open (hitsKey) and closes it; it is nil while closed.
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

// openHits opens the list of the senders or implementors of selector
// over the column and starts loading it. (The browser has closed the
// editor and the prompts.)
func (s *sourceEditor) openHits(selector string, implementors bool) tea.Cmd {
	s.hitSeq++
	s.hits = &hitList{seq: s.hitSeq, selector: selector, implementors: implementors, loading: true}
	img, seq := s.c.Image, s.hitSeq
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
func (s *sourceEditor) gotHits(msg hitsMsg) {
	l := s.hits
	if l == nil || msg.seq != l.seq {
		return // closed, or another list opened since
	}
	l.loading, l.hits, l.err, l.cursor, l.off = false, msg.hits, msg.err, 0, 0
	if msg.err != nil {
		s.report.set(l.what()+": "+msg.err.Error(), true)
	}
}

// closeHits closes the list.
func (s *sourceEditor) closeHits() {
	s.hits = nil
	s.hitSeq++ // an answer still coming is answered to no one
}

// hitsKey handles a key while the list is open: it moves through the
// list, Open browses the hit, Senders and Implementors list the hit's
// selector's senders and implementors, Close closes it.
func (s *sourceEditor) hitsKey(msg tea.KeyPressMsg) (tea.Cmd, request) {
	l, k := s.hits, s.hitKeys
	page := max(s.height-2, 1)
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
	case key.Matches(msg, k.Close):
		s.closeHits()
		return nil, nil
	case key.Matches(msg, k.Open):
		if l.cursor >= len(l.hits) {
			return nil, nil
		}
		h := l.hits[l.cursor]
		s.closeHits()
		return nil, browseReq{oid: h.Object.OID, selector: h.Selector}
	case key.Matches(msg, k.Senders), key.Matches(msg, k.Implementors):
		if l.cursor >= len(l.hits) {
			return nil, nil
		}
		return nil, hitsReq{selector: l.hits[l.cursor].Selector, implementors: key.Matches(msg, k.Implementors)}
	case key.Matches(msg, k.Inspect):
		if l.cursor >= len(l.hits) {
			return nil, nil
		}
		return nil, inspectReq{oid: l.hits[l.cursor].Object.OID}
	}
	l.cursor = pane.Clamp(l.cursor, len(l.hits))
	s.scrollHits()
	return nil, nil
}

func (s *sourceEditor) scrollHits() {
	if l := s.hits; l != nil {
		l.off = pane.Scroll(l.cursor, l.off, s.height-1, len(l.hits))
	}
}

// view renders the list in the source column's place, w×h.
func (l *hitList) view(st *common.Styles, focused bool, w, h int) []string {
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
	out := []string{header(st, title, focused, w)}
	switch {
	case l.loading:
	case l.err != nil:
		out = append(out, st.Error.Render(pane.Fit(" ✗ "+common.Sanitize(l.err.Error()), w)))
	case len(l.hits) == 0:
		out = append(out, st.Dim.Render(pane.Fit(" no "+l.what(), w)))
	}
	end := min(l.off+h-1, len(l.hits))
	for i := l.off; i < end; i++ {
		hit := l.hits[i]
		on := hit.Object.Name
		if !anonymous(hit.Object) {
			on = shortName(hit.Object) + " #" + fmt.Sprint(hit.Object.OID)
		}
		text := hit.Selector + "()  " + st.Dim.Render("on "+on)
		if i == l.cursor {
			out = append(out, selectedRow(st, text, focused, w))
		} else {
			out = append(out, pane.Fit(" "+text, w))
		}
	}
	return pane.Block(out, w, h)
}
