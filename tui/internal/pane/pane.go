// Package pane holds the small layout and plumbing helpers the browser,
// inspector and history panes share: fitting styled text into cells,
// keeping a cursor in view, running image calls with a deadline, and
// reading the line number out of a compile error.
//
// A pane renders itself as a slice of rows, each exactly as wide as its
// column (Fit), and joins columns row by row (Join); that keeps a frame's
// cost proportional to what is visible, never to the size of the image.
package pane

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// Timeout bounds one image call made from a pane's command.
const Timeout = 30 * time.Second

// Ctx returns the context an image call runs under.
func Ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), Timeout)
}

// Fit truncates or pads one line (which may hold ANSI styling) to exactly
// w cells.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// Block fits lines into a w×h block: each line is fitted to w, extra lines
// are dropped and missing ones are blank.
func Block(lines []string, w, h int) []string {
	out := make([]string, h)
	blank := strings.Repeat(" ", max(w, 0))
	for i := range out {
		if i < len(lines) {
			out[i] = Fit(lines[i], w)
		} else {
			out[i] = blank
		}
	}
	return out
}

// Join joins blocks of equal height side by side, sep between them.
func Join(sep string, blocks ...[]string) []string {
	if len(blocks) == 0 {
		return nil
	}
	out := make([]string, len(blocks[0]))
	var b strings.Builder
	for i := range out {
		b.Reset()
		for j, blk := range blocks {
			if j > 0 {
				b.WriteString(sep)
			}
			if i < len(blk) {
				b.WriteString(blk[i])
			}
		}
		out[i] = b.String()
	}
	return out
}

// Scroll returns the offset that keeps cursor visible in a window of
// height rows over n rows, moving offset as little as possible.
func Scroll(cursor, offset, height, n int) int {
	if height <= 0 {
		return 0
	}
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+height {
		offset = cursor - height + 1
	}
	offset = min(offset, n-height)
	return max(offset, 0)
}

// Clamp bounds i to [0, n-1] (0 when n is 0).
func Clamp(i, n int) int {
	return max(0, min(i, n-1))
}

// ListKeys are the vim-style keys of a list.
type ListKeys struct{ Down, Up, Top, Bottom key.Binding }

// Navigate moves a list cursor over n rows by the list keys; ok is false
// when msg is none of them.
func Navigate(msg tea.KeyPressMsg, k ListKeys, cursor, n int) (int, bool) {
	switch {
	case key.Matches(msg, k.Down):
		return Clamp(cursor+1, n), true
	case key.Matches(msg, k.Up):
		return Clamp(cursor-1, n), true
	case key.Matches(msg, k.Top):
		return 0, true
	case key.Matches(msg, k.Bottom):
		return Clamp(n-1, n), true
	}
	return cursor, false
}

var lineRE = regexp.MustCompile(`\bline (\d+)`)

// ErrLine returns the source line an error names ("method m: line 3: ..."
// or "line 3:2: ..."), or 0 when it names none.
func ErrLine(err error) int {
	if err == nil {
		return 0
	}
	m := lineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// FirstLine returns s up to its first newline.
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// OneLine returns s's first line, with "…" when more lines follow: what a
// one-row layout shows of a multi-line value.
func OneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + "…"
	}
	return s
}
