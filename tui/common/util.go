package common

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"batos/api"
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

// Sanitize makes text that comes from the image (script output, pLLM
// tokens, slot values, sources, notes) safe to draw: it strips ANSI escape
// sequences, turns tabs into four spaces, and drops every other control
// character (C0, DEL, C1) except the newline, so that nothing a script
// prints can drive the terminal.
func Sanitize(s string) string { return sanitize(s, false) }

// SanitizeLine is Sanitize kept to one line: text from the image (an
// error, a reason) shown in a pane's one-line footer.
func SanitizeLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(sanitize(s, false)), "\n", " ⏎ ")
}

// SanitizeSource is Sanitize for Go source, whose tabs are kept: the
// views that show source expand them themselves, and diffs and the editor
// need them.
func SanitizeSource(s string) string { return sanitize(s, true) }

func sanitize(s string, keepTabs bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n' && (c != '\t' || !keepTabs)) || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = ansi.Strip(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n', r == '\t' && keepTabs:
			b.WriteRune(r)
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SanitizeRef sanitizes r's name.
func SanitizeRef(r api.Ref) api.Ref {
	r.Name = Sanitize(r.Name)
	return r
}

// SanitizeObject returns v with every text the image printed (names,
// types, values, sources) sanitized, for a pane to keep and draw.
func SanitizeObject(v api.ObjectView) api.ObjectView {
	v.Ref = SanitizeRef(v.Ref)
	v.Slots = sanitizeSlots(v.Slots)
	v.Inherited = sanitizeSlots(v.Inherited)
	return v
}

func sanitizeSlots(in []api.SlotView) []api.SlotView {
	if in == nil {
		return nil
	}
	out := make([]api.SlotView, len(in))
	for i, s := range in {
		s.Name, s.Source = Sanitize(s.Name), SanitizeSource(s.Source)
		if s.Value != nil {
			v := SanitizeValue(*s.Value)
			s.Value = &v
		}
		s.Holder = SanitizeRef(s.Holder)
		out[i] = s
	}
	return out
}

// SanitizeValue returns v with its printed parts sanitized, its items' and
// entries' too: Text, Type and an object's name. The data (String, map
// keys) is left as it is: a view that draws it sanitizes it then.
func SanitizeValue(v api.Value) api.Value {
	v.Text, v.Type = Sanitize(v.Text), Sanitize(v.Type)
	if v.Object != nil {
		r := SanitizeRef(*v.Object)
		v.Object = &r
	}
	if v.Items != nil {
		items := make([]api.Value, len(v.Items))
		for i, it := range v.Items {
			items[i] = SanitizeValue(it)
		}
		v.Items = items
	}
	if v.Entries != nil {
		entries := make([]api.Entry, len(v.Entries))
		for i, e := range v.Entries {
			entries[i] = api.Entry{Key: e.Key, Value: SanitizeValue(e.Value)}
		}
		v.Entries = entries
	}
	return v
}

// SanitizeTx returns t with its principal, note and names sanitized.
func SanitizeTx(t api.Tx) api.Tx {
	t.Principal, t.Note = Sanitize(t.Principal), Sanitize(t.Note)
	if t.Changed != nil {
		ch := make([]api.Ref, len(t.Changed))
		for i, r := range t.Changed {
			ch[i] = SanitizeRef(r)
		}
		t.Changed = ch
	}
	return t
}
