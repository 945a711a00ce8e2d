package app

import (
	"context"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"batos/kernel/api"
)

// searchLimit is how many hits the overlay shows at most.
const searchLimit = 50

type searchResultMsg struct {
	seq  int
	hits []api.Hit
	err  error
}

func searchCmd(img api.Image, seq int, query string) tea.Cmd {
	return func() tea.Msg {
		hits, err := img.Search(context.Background(), query, searchLimit)
		return searchResultMsg{seq: seq, hits: hits, err: err}
	}
}

// searchView renders the search overlay's content.
func (m *Model) searchView(width, height int) string {
	var b strings.Builder
	b.WriteString(m.searchIn.View())
	b.WriteString("\n")
	switch {
	case m.searchErr != nil:
		b.WriteString(m.c.Styles.Error.Render("error: " + m.searchErr.Error()))
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
