package browser

import (
	"strings"
	"sync"

	"charm.land/lipgloss/v2"
	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
)

// highlighter renders Go source as styled lines with chroma's Go lexer.
// Colours go through lipgloss, so the renderer degrades them to the
// terminal's profile; without colour the source is plain text.
type highlighter struct {
	mu     sync.Mutex
	style  *chroma.Style
	lexer  chroma.Lexer
	styles map[chroma.TokenType]lipgloss.Style

	// The last source highlighted: a frame re-renders the same method.
	src   string
	lines []string
}

func newHighlighter() *highlighter {
	return &highlighter{
		style:  styles.Get("monokai"),
		lexer:  chroma.Coalesce(lexers.Get("go")),
		styles: map[chroma.TokenType]lipgloss.Style{},
	}
}

func (h *highlighter) tokenStyle(t chroma.TokenType) lipgloss.Style {
	if s, ok := h.styles[t]; ok {
		return s
	}
	e := h.style.Get(t)
	s := lipgloss.NewStyle()
	if e.Colour.IsSet() {
		s = s.Foreground(lipgloss.Color(e.Colour.String()))
	}
	if e.Bold == chroma.Yes {
		s = s.Bold(true)
	}
	if e.Italic == chroma.Yes {
		s = s.Italic(true)
	}
	h.styles[t] = s
	return s
}

// Lines returns src highlighted, one string per source line.
func (h *highlighter) Lines(src string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lines != nil && src == h.src {
		return h.lines
	}
	orig := src
	src = strings.ReplaceAll(src, "\t", "    ")
	it, err := h.lexer.Tokenise(nil, src)
	if err != nil {
		return strings.Split(src, "\n")
	}
	var lines []string
	var cur strings.Builder
	for tok := it(); tok != chroma.EOF; tok = it() {
		st := h.tokenStyle(tok.Type)
		parts := strings.Split(tok.Value, "\n")
		for i, p := range parts {
			if i > 0 {
				lines = append(lines, cur.String())
				cur.Reset()
			}
			if p != "" {
				cur.WriteString(st.Render(p))
			}
		}
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	h.src, h.lines = orig, lines
	return lines
}
