package app

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/tui/common"
)

// PagerKeyMap is the pager's key bindings.
type PagerKeyMap struct {
	Up, Down           key.Binding
	PageUp, PageDown   key.Binding
	HalfUp, HalfDown   key.Binding
	Top, Bottom, Close key.Binding
}

// DefaultPagerKeyMap returns the pager's bindings, less's and lazygit's.
func DefaultPagerKeyMap() PagerKeyMap {
	return PagerKeyMap{
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space", "f"), key.WithHelp("pgdn/space", "page down")),
		HalfUp:   key.NewBinding(key.WithKeys("u", "ctrl+u"), key.WithHelp("u", "half page up")),
		HalfDown: key.NewBinding(key.WithKeys("d", "ctrl+d"), key.WithHelp("d", "half page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Close:    key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc/q", "close")),
	}
}

// pagerHelp is the pager's keys on one line, for the ? help; it follows
// DefaultPagerKeyMap (the pager's footer says the main ones).
const pagerHelp = "j/k ↑/↓ scroll · pgup/pgdn page · u/d half page · g/G top/bottom · esc/q close"

// pager is the overlay that shows a long text in full: what a pane sends
// as common.PagerMsg, the info line's last message, :help. The text,
// sanitized and without styles, is wrapped to the overlay's width (again
// when the terminal is resized) and scrolls in a viewport.
type pager struct {
	keys  PagerKeyMap
	title string
	text  string // sanitized, as given: wrapped in layout
	vp    viewport.Model
	// width is the content's width, height the most lines the viewport
	// may take; it takes fewer for a shorter text.
	width, height int
}

func newPager() pager {
	p := pager{keys: DefaultPagerKeyMap(), vp: viewport.New()}
	km := &p.vp.KeyMap
	km.Up, km.Down = p.keys.Up, p.keys.Down
	km.PageUp, km.PageDown = p.keys.PageUp, p.keys.PageDown
	km.HalfPageUp, km.HalfPageDown = p.keys.HalfUp, p.keys.HalfDown
	// The text is wrapped: nothing to scroll sideways.
	km.Left, km.Right = key.NewBinding(key.WithDisabled()), key.NewBinding(key.WithDisabled())
	return p
}

// open shows text under title, from its top.
func (p *pager) open(title, text string) {
	p.title = common.SanitizeLine(title)
	p.text = strings.TrimRight(common.Sanitize(text), "\n")
	if p.text == "" {
		p.text = "(empty)"
	}
	p.layout()
	p.vp.GotoTop()
}

// setSize sizes the content: width columns, and at most height lines for
// the viewport (the title and the footer take two more).
func (p *pager) setSize(width, height int) {
	p.width, p.height = max(width, 1), max(height, 1)
	p.layout()
}

func (p *pager) layout() {
	text := wrap(p.text, p.width)
	p.vp.SetWidth(p.width)
	p.vp.SetHeight(min(strings.Count(text, "\n")+1, p.height))
	p.vp.SetContent(text)
}

// wrap wraps each line of s wider than width: at spaces where it can,
// else inside a word; s holds no ANSI styles.
func wrap(s string, width int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Wrap(l, width, "")
		}
	}
	return strings.Join(lines, "\n")
}

// update handles a key; it reports whether the pager closes.
func (p *pager) update(msg tea.Msg) (closed bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, p.keys.Close):
			return true
		case key.Matches(k, p.keys.Top):
			p.vp.GotoTop()
			return false
		case key.Matches(k, p.keys.Bottom):
			p.vp.GotoBottom()
			return false
		}
	}
	p.vp, _ = p.vp.Update(msg)
	return false
}

// view renders the title, the visible lines and a footer that says where
// in the text they are and how to move.
func (p *pager) view(st *common.Styles) string {
	total := p.vp.TotalLineCount()
	first := p.vp.YOffset() + 1
	last := min(p.vp.YOffset()+p.vp.VisibleLineCount(), total)
	where := fmt.Sprintf("all %d lines", total)
	if total > p.vp.Height() {
		where = fmt.Sprintf("lines %d–%d of %d", first, last, total)
	}
	footer := where + " · esc/q close · j/k ↑/↓ pgup/pgdn g/G"
	return common.FitLine(st.Title.Render(p.title), p.width) + "\n" +
		common.Fit(p.vp.View(), p.width, p.vp.Height()) + "\n" +
		common.FitLine(st.Dim.Render(footer), p.width)
}
