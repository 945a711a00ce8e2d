package common

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// Now returns the time from c.Clock, or the wall clock when none is set.
// Panes that show times take them from here, so that tests can fix them.
func (c *Common) Now() time.Time {
	if c != nil && c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// Fit cuts or pads s (which may hold ANSI styles) to exactly width columns
// and height lines, so that a pane's view never spills out of its box.
func Fit(s string, width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	var b strings.Builder
	for i := 0; i < height; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		line := ""
		if i < len(lines) {
			line = lines[i]
		}
		b.WriteString(FitLine(line, width))
	}
	return b.String()
}

// FitLine cuts or pads one line to exactly width columns; tabs become
// four spaces.
func FitLine(line string, width int) string {
	line = strings.ReplaceAll(line, "\t", "    ")
	if w := ansi.StringWidth(line); w > width {
		line = ansi.Truncate(line, width, "…")
	} else if w < width {
		line += strings.Repeat(" ", width-w)
	}
	return line
}
