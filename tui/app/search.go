package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// searchLimit is how many hits the overlay shows at most.
const searchLimit = 50

// searchDebounce is how long the query must stay unchanged before it is
// searched: typing a word runs one search, not one per key.
const searchDebounce = 80 * time.Millisecond

type (
	searchResultMsg struct {
		seq   int
		query string
		hits  []api.Hit
		err   error
	}
	// searchDueMsg fires searchDebounce after the query changed.
	searchDueMsg struct {
		seq   int
		query string
	}
)

func searchCmd(ctx context.Context, img api.Image, seq int, query string) tea.Cmd {
	return func() tea.Msg {
		hits, err := img.Search(ctx, query, searchLimit)
		for i := range hits {
			hits[i].Object = common.SanitizeRef(hits[i].Object)
			hits[i].Selector = common.Sanitize(hits[i].Selector)
		}
		return searchResultMsg{seq: seq, query: query, hits: hits, err: err}
	}
}

// cancelSearch cancels the search in flight, if any.
func (m *Model) cancelSearch() {
	if m.searchCancel != nil {
		m.searchCancel()
		m.searchCancel = nil
	}
}

// searchChanged reacts to the query changing from before: the search in
// flight is cancelled and a new one is scheduled after searchDebounce.
func (m *Model) searchChanged(before string) tea.Cmd {
	q := m.searchIn.Value()
	if q == before {
		return nil
	}
	m.searchSeq++
	m.cancelSearch()
	if strings.TrimSpace(q) == "" {
		m.hits, m.searchErr, m.hitsFor = nil, nil, q
		return nil
	}
	seq := m.searchSeq
	return tea.Tick(searchDebounce, func(time.Time) tea.Msg { return searchDueMsg{seq: seq, query: q} })
}

// searchEnter closes the search and opens the selected hit in the browser.
// It acts on the query typed so far: when the hits shown are not that
// query's (its search is still due or running, the keys having come
// faster than the debounce), the query is searched now and its best hit
// opened. The browser is focused here, before the next key is read; only
// the image call runs in the command.
func (m *Model) searchEnter() tea.Cmd {
	q := m.searchIn.Value()
	m.overlay = noOverlay
	m.searchIn.Blur()
	m.cancelSearch()
	m.searchSeq++ // a search still due or running is answered to no one
	if q == m.hitsFor && m.searchErr == nil {
		if m.hitSel >= len(m.hits) {
			return nil
		}
		h := m.hits[m.hitSel]
		return tea.Batch(m.update(browserPane, common.BrowseMsg{OID: h.Object.OID, Selector: h.Selector}), m.setFocus(browserPane))
	}
	if strings.TrimSpace(q) == "" {
		return nil
	}
	img := m.c.Image
	find := func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		hits, err := img.Search(ctx, q, 1)
		switch {
		case err != nil:
			return browseDoneMsg{common.ErrMsg{Err: fmt.Errorf("search %s: %w", common.Sanitize(q), err)}}
		case len(hits) == 0:
			return browseDoneMsg{common.ErrMsg{Err: fmt.Errorf("search %s: no match", common.Sanitize(q))}}
		}
		return browseDoneMsg{common.BrowseMsg{OID: hits[0].Object.OID, Selector: common.Sanitize(hits[0].Selector)}}
	}
	return tea.Batch(m.setFocus(browserPane), find)
}

// searchDue starts the search the query asked for, unless it changed since.
func (m *Model) searchDue(msg searchDueMsg) tea.Cmd {
	if msg.seq != m.searchSeq || m.overlay != searchOverlay {
		return nil
	}
	m.cancelSearch()
	ctx, cancel := pane.Ctx()
	m.searchCancel = cancel
	return searchCmd(ctx, m.c.Image, msg.seq, msg.query)
}

// searchView renders the search overlay's content.
func (m *Model) searchView(width, height int) string {
	var b strings.Builder
	b.WriteString(m.searchIn.View())
	b.WriteString("\n")
	switch {
	case m.searchErr != nil:
		b.WriteString(m.c.Styles.Error.Render("error: " + common.Sanitize(m.searchErr.Error())))
	case len(m.hits) == 0 && m.searchIn.Value() != "":
		b.WriteString(m.c.Styles.Dim.Render("no match"))
	}
	rows := height - 2
	start := 0
	if m.hitSel >= rows {
		start = m.hitSel - rows + 1
	}
	for i := start; i < len(m.hits) && i < start+rows; i++ {
		h := m.hits[i]
		line := h.Object.Name
		if h.Selector != "" {
			line = fmt.Sprintf("%s  %s", h.Selector, m.c.Styles.Dim.Render("on "+h.Object.Name))
		}
		if i == m.hitSel {
			line = m.c.Styles.Selected.Render("› " + line)
		} else {
			line = "  " + line
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}
