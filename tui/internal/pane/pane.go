// Package pane holds the small layout and plumbing helpers the browser,
// inspector and history panes share: fitting styled text into cells,
// keeping a cursor in view, running image calls with a deadline, the
// position an *api.Error names, and the literal prompts' round trip
// between a slot's value and the text a person types.
//
// A pane renders itself as a slice of rows, each exactly as wide as its
// column (Fit), and joins columns row by row (Join); that keeps a frame's
// cost proportional to what is visible, never to the size of the image.
package pane

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
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

// ErrPos returns the 1-based line and column an *api.Error names in the
// source its request carried (0 for what it does not name, and for an
// error that is not an *api.Error).
func ErrPos(err error) (line, col int) {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Line, e.Col
	}
	return 0, 0
}

// LiteralOf is the text a literal prompt starts with for a slot's value:
// the Go literal api.ParseLiteral reads back (an object as ObjectAt(id)).
// ok is false for a value no literal writes (a func, a struct, a
// truncated container): the prompt then starts empty.
func LiteralOf(v *api.Value) (string, bool) {
	if v == nil {
		return "", false
	}
	return v.Literal()
}

// CursorAt returns the rune offset in text of the column err names on
// text's first line (api.ParseLiteral's refusals carry one), for a
// one-line input's cursor; ok is false when err names no column there.
func CursorAt(text string, err error) (pos int, ok bool) {
	line, col := ErrPos(err)
	if col <= 0 || line > 1 {
		return 0, false
	}
	b := min(col-1, len(text))
	return utf8.RuneCountInString(text[:b]), true
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
