package workspace

import (
	"strings"

	"batos/tui/common"
)

// resultMark starts the comment line print it writes into the buffer
// after what it evaluated (see the package comment).
const resultMark = "// ⇒"

// maxInline bounds the value a result line holds, in runes; the whole
// value is under the input and in the pager (ctrl+r).
const maxInline = 100

// isResult reports whether line is a result line print it wrote.
func isResult(line string) bool {
	return strings.HasPrefix(strings.TrimSpace(line), resultMark)
}

func blank(line string) bool { return strings.TrimSpace(line) == "" }

// block is the part of the buffer an evaluation took: the source sent
// to the image, and the whole lines it came from, first and last (the
// rows of the buffer when it was evaluated), where print it writes its
// result after.
type block struct {
	src         string
	first, last int
	lines       []string // the buffer's lines first..last, as they were
	inline      bool     // print it writes its value into the buffer
}

// target is what do it, print it and inspect it take: the selection, if
// any; else, in a buffer of several lines whose cursor line is not blank,
// the paragraph around the cursor (its block of non-blank lines, less the
// result lines at its end); else the whole buffer. A one-line buffer is a
// command line: its value is shown under it only, never written into it.
func (m *Model) target() block {
	value := m.input.Value()
	lines := strings.Split(value, "\n")
	row := min(m.input.Line(), len(lines)-1)
	b := block{inline: len(lines) > 1}
	switch start, end, ok := m.input.Selection(); {
	case ok:
		b.src = m.input.SelectedText()
		b.first, b.last = start.Row, end.Row
		if end.Col == 0 && end.Row > start.Row {
			b.last-- // the selection ends with a newline
		}
	case len(lines) > 1 && !blank(lines[row]):
		b.first, b.last = row, row
		for b.first > 0 && !blank(lines[b.first-1]) {
			b.first--
		}
		for b.last+1 < len(lines) && !blank(lines[b.last+1]) {
			b.last++
		}
		for b.last > b.first && isResult(lines[b.last]) {
			b.last--
		}
		b.src = strings.Join(lines[b.first:b.last+1], "\n")
	default:
		b.src = value
		b.first, b.last = 0, len(lines)-1
		for b.last > 0 && (blank(lines[b.last]) || isResult(lines[b.last])) {
			b.last--
		}
	}
	b.lines = append([]string(nil), lines[b.first:b.last+1]...)
	return b
}

// withoutResults is s less its result lines, trimmed: what an input
// counts as, for whether it was evaluated.
func withoutResults(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !isResult(l) {
			keep = append(keep, l)
		}
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

// paragraphs splits s at its blank lines.
func paragraphs(s string) []string {
	var out, cur []string
	for _, l := range append(strings.Split(s, "\n"), "") {
		if blank(l) {
			if len(cur) > 0 {
				out = append(out, strings.Join(cur, "\n"))
			}
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	return out
}

// inlineValue is the value as a result line holds it: its first line,
// cut to maxInline runes, "…" marking what is not there.
func inlineValue(text string) string {
	line, rest, nl := strings.Cut(common.Sanitize(text), "\n")
	more := nl && strings.TrimSpace(rest) != ""
	r := []rune(line)
	if len(r) > maxInline {
		r, more = r[:maxInline], true
	}
	if more {
		return string(r) + "…"
	}
	return string(r)
}

// writeResult writes the result line for b after it in the buffer,
// replacing the result lines already there (none, with no value: a
// statement's stale result goes). b is found where it was evaluated, or
// else where its lines are now (typed around while it ran); when they are
// nowhere, the buffer is left as it is. The cursor keeps its place in the
// text.
func (m *Model) writeResult(b block, value string, has bool) {
	lines := strings.Split(m.input.Value(), "\n")
	at := -1
	if same(lines, b.first, b.lines) {
		at = b.first
	} else {
		for i := range lines {
			if same(lines, i, b.lines) {
				at = i
				break
			}
		}
	}
	if at < 0 {
		return
	}
	after := at + len(b.lines) // the first line after the block
	end := after
	for end < len(lines) && isResult(lines[end]) {
		end++
	}
	var insert []string
	if has {
		last := b.lines[len(b.lines)-1]
		indent := last[:len(last)-len(strings.TrimLeft(last, " \t"))]
		insert = []string{indent + resultMark + " " + inlineValue(value)}
	}
	out := append(append(append([]string(nil), lines[:after]...), insert...), lines[end:]...)
	row, col := m.input.Line(), m.input.Column()
	switch {
	case row >= end:
		row += len(insert) - (end - after)
	case row >= after: // on a result line replaced: to the block's end
		row, col = after-1, len([]rune(lines[after-1]))
	}
	m.input.SetValue(strings.Join(out, "\n"))
	m.moveTo(row, col)
}

// same reports whether lines from i on begin with want.
func same(lines []string, i int, want []string) bool {
	if i < 0 || i+len(want) > len(lines) {
		return false
	}
	for j, w := range want {
		if lines[i+j] != w {
			return false
		}
	}
	return true
}

// moveTo puts the cursor at row, col of the buffer (clamped).
func (m *Model) moveTo(row, col int) {
	m.input.MoveToBegin()
	for guard := m.input.Length() + m.input.LineCount(); m.input.Line() < row && guard > 0; guard-- {
		m.input.CursorDown()
	}
	m.input.SetCursorColumn(col)
}

// clear empties the buffer and what is shown under it; the history keeps
// the inputs evaluated.
func (m *Model) clear() {
	m.input.SetValue("")
	m.histPos, m.draft = len(m.history), ""
	m.src = ""
	m.printed, m.printedOpen, m.cut = nil, false, 0
	m.show(false)
}
