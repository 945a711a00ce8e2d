package browser

import (
	"fmt"
	"go/format"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// sourceEditor is the browser's third column. It shows the selected
// slot (which the slot list hands to View): a method's source,
// highlighted and scrolled by srcOff, a primitive, or a data slot's
// value. It edits a method in a textarea: Accept defines it through
// api.Image.Define, and a compile error is shown under the line it names
// (the *api.Error's Line) while the edit is kept; Cancel on a changed edit
// asks first. A senders or implementors list (senders.go) takes the
// column while it is open.
type sourceEditor struct {
	c       *common.Common
	keys    SourceKeyMap
	hitKeys HitKeyMap
	report  *statusLine
	hl      *highlighter
	width   int
	height  int // the header row included

	// srcOff is how far the source shown is scrolled.
	srcOff int
	// mark is a line of a method to point at (BrowseMsg.Line): while
	// its method is shown the view scrolls to it, until the user scrolls.
	mark struct {
		holder   uint64
		selector string
		line     int
		moved    bool
	}

	// The method editor.
	editor      textarea.Model
	editing     bool
	editOID     uint64
	editHolder  string
	editSel     string
	editOrig    string
	editErr     error
	editErrLine int
	// accepting is set while a Define sent by Accept is in flight;
	// accepted is the editor's text it sent.
	accepting bool
	accepted  string
	// discarding is set while the editor asks whether to drop its change.
	// The question can outlive the edit: a Define in flight that commits
	// closes the editor, and the question stays until answered.
	discarding bool

	// hits is the senders or implementors list shown over the column,
	// nil when none; hitSeq numbers its requests, so that an answer to a
	// list closed or replaced since is dropped.
	hits   *hitList
	hitSeq int
}

func newSourceEditor(c *common.Common, keys SourceKeyMap, hitKeys HitKeyMap, report *statusLine) *sourceEditor {
	ta := textarea.New()
	ta.Prompt = ""
	ta.MaxHeight = 999 // three-digit line numbers, so an error finds its row
	ta.ShowLineNumbers = true
	st := ta.Styles()
	st.Cursor.Blink = false
	ta.SetStyles(st)
	return &sourceEditor{c: c, keys: keys, hitKeys: hitKeys, report: report, hl: newHighlighter(), editor: ta}
}

func (s *sourceEditor) SetSize(width, height int) {
	s.width, s.height = width, height
	s.editor.SetWidth(max(width, 10))
	s.editor.SetHeight(max(height-2, 1))
	s.scrollHits()
}

// Focus focuses the editor, when it is open.
func (s *sourceEditor) Focus() tea.Cmd {
	if s.editing {
		return s.editor.Focus()
	}
	return nil
}

func (s *sourceEditor) Blur() { s.editor.Blur() }

// ShortHelp is the editor's or the hit list's keys while one is open,
// nil otherwise.
func (s *sourceEditor) ShortHelp() []key.Binding {
	switch {
	case s.editing:
		return []key.Binding{s.keys.Accept, s.keys.Cancel}
	case s.hits != nil:
		k := s.hitKeys
		return []key.Binding{k.Up, k.Down, k.Open, k.Close, k.Senders, k.Implementors}
	}
	return nil
}

// Update handles a hit list's answer, a paste into the editor, and keys:
// the discard question's, the editor's or the hit list's while one is
// open, else the column's (the browser sends those only while the column
// has the focus).
func (s *sourceEditor) Update(msg tea.Msg) (tea.Cmd, request) {
	switch msg := msg.(type) {
	case hitsMsg:
		s.gotHits(msg)
	case tea.PasteMsg:
		if s.editing {
			var cmd tea.Cmd
			s.editor, cmd = s.editor.Update(msg)
			return cmd, nil
		}
	case tea.KeyPressMsg:
		switch {
		case s.discarding:
			s.answer(msg)
			return nil, nil
		case s.editing:
			return s.editKey(msg), nil
		case s.hits != nil:
			return s.hitsKey(msg)
		}
		return s.key(msg)
	}
	return nil, nil
}

// key handles a key in the column while it shows a slot.
func (s *sourceEditor) key(msg tea.KeyPressMsg) (tea.Cmd, request) {
	k := s.keys
	switch {
	case key.Matches(msg, k.Down):
		s.scrolled()
		s.srcOff++
	case key.Matches(msg, k.Up):
		s.scrolled()
		s.srcOff = max(s.srcOff-1, 0)
	case key.Matches(msg, k.Top):
		s.mark.moved = true
		s.srcOff = 0
	case key.Matches(msg, k.Collapse), key.Matches(msg, k.Cancel):
		return nil, focusReq{col: colSlots}
	case key.Matches(msg, k.Open):
		return nil, editReq{}
	}
	return nil, nil
}

// top shows the source from its first line.
func (s *sourceEditor) top() { s.srcOff = 0 }

// markLine points at line of holder's method selector (0: no mark).
func (s *sourceEditor) markLine(holder uint64, selector string, line int) {
	s.mark.holder, s.mark.selector, s.mark.line, s.mark.moved = holder, selector, line, false
}

// marked reports the line to point at in sv, 0 when none.
func (s *sourceEditor) marked(sv api.SlotView) int {
	if s.mark.line > 0 && sv.Kind == api.KindMethod && sv.Name == s.mark.selector && sv.Holder.OID == s.mark.holder {
		return s.mark.line
	}
	return 0
}

// scrolled hands the view's scrolling back to the user: from where the
// mark put it.
func (s *sourceEditor) scrolled() {
	if s.mark.line > 0 && !s.mark.moved {
		s.mark.moved = true
		s.srcOff = max(s.mark.line-3, 0)
	}
}

// wheel scrolls the hit list, or the source shown, by d.
func (s *sourceEditor) wheel(d int) {
	switch {
	case s.hits != nil:
		s.hits.off = max(0, min(s.hits.off+d, len(s.hits.hits)-(s.height-1)))
	case !s.editing:
		s.scrolled()
		s.srcOff = max(0, s.srcOff+d)
	}
}

// click puts the hit list's cursor on the row at y (0 is the header).
func (s *sourceEditor) click(y int) {
	if l := s.hits; l != nil {
		if i := l.off + y - 1; y > 0 && i < len(l.hits) {
			l.cursor = i
		}
	}
}

// --- the editor -------------------------------------------------------------

// asking reports whether the editor or its discard question has the
// keys.
func (s *sourceEditor) asking() bool { return s.editing || s.discarding }

// dirty reports whether the editor holds a change that is not accepted.
func (s *sourceEditor) dirty() bool {
	return s.editing && s.editor.Value() != s.editOrig
}

// open opens the editor on a method. (The browser sizes and focuses it.)
func (s *sourceEditor) open(r methodReq) {
	s.editing, s.editOID, s.editHolder, s.editSel, s.editOrig = true, r.oid, r.holder, r.selector, r.src
	s.editErr, s.editErrLine = nil, 0
	s.editor.SetValue(r.src)
	s.editOrig = s.editor.Value() // the textarea turns tabs into spaces
	s.editor.MoveToBegin()
}

func (s *sourceEditor) stopEdit() {
	s.editing, s.editErr, s.editErrLine, s.accepting, s.discarding = false, nil, 0, false, false
	s.editor.Blur()
}

// leave closes an editor that holds no change, and the discard question,
// as browsing elsewhere does; a Define in flight is still answered
// (defined, defineFailed).
func (s *sourceEditor) leave() { s.editing, s.discarding = false, false }

func (s *sourceEditor) editKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, s.keys.Accept):
		if s.accepting {
			s.report.set("still accepting "+s.editSel+"…", false)
			return nil
		}
		s.accepting, s.accepted = true, s.editor.Value()
		oid, sel, src := s.editOID, s.editSel, gofmt(s.accepted)
		s.report.set("accepting "+sel+"…", false)
		return changeCmd(s.c.Image, "defined "+sel, oid, sel, true, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			return img.Define(ctx, oid, sel, src)
		})
	case key.Matches(msg, s.keys.Cancel):
		if s.dirty() {
			s.discarding = true
			return nil
		}
		s.stopEdit()
		return nil
	}
	var cmd tea.Cmd
	s.editor, cmd = s.editor.Update(msg)
	return cmd
}

// answer takes the key answering the discard question: yes closes the
// editor, no keeps editing, any other key is swallowed.
func (s *sourceEditor) answer(msg tea.KeyPressMsg) {
	switch {
	case key.Matches(msg, s.keys.Confirm.Yes):
		s.discarding = false
		s.stopEdit()
	case key.Matches(msg, s.keys.Confirm.No):
		s.discarding = false
	}
}

// question is the discard question, for the last line.
func (s *sourceEditor) question() string {
	return s.c.Styles.Error.Render("discard the unsaved edit of " + s.editSel + "? y/n")
}

// defineFailed takes the refusal of the Define an accept sent: while the
// editor is open it keeps the edit, shows err under the line it names
// and reports true.
func (s *sourceEditor) defineFailed(err error) bool {
	s.accepting = false
	if !s.editing {
		return false
	}
	s.editErr = err
	s.editErrLine, _ = pane.ErrPos(err)
	s.report.set("not accepted: "+err.Error(), true)
	return true
}

// defined takes the commit of the Define an accept sent: it closes the
// editor, unless keys were typed while the Define was in flight; those
// are kept, and the editor stays open (what is saved now is what was
// accepted). It returns what to add to the status.
func (s *sourceEditor) defined() string {
	s.accepting = false
	if s.editing && s.editor.Value() != s.accepted {
		s.editOrig, s.editErr, s.editErrLine = s.accepted, nil, 0
		return "; edited since: still editing"
	}
	s.editing, s.editErr, s.editErrLine = false, nil, 0
	s.editor.Blur()
	return ""
}

// gofmt formats src as gofmt would (the textarea edits with spaces); a
// source that does not parse is left for Define to report.
func gofmt(src string) string {
	out, err := format.Source([]byte(src))
	if err != nil {
		return src
	}
	return strings.TrimRight(string(out), "\n")
}

// --- view -------------------------------------------------------------------

// View renders the column: the editor, the hit list, or sel's slot.
func (s *sourceEditor) View(focused bool, sel selection) []string {
	st := s.c.Styles
	w, h := s.width, s.height
	if s.editing {
		title := fmt.Sprintf("Editing %s › %s", shortName(api.Ref{OID: s.editOID, Name: s.editHolder}), s.editSel)
		if s.dirty() {
			title += " *"
		}
		title += " — ctrl+s accept · esc cancel"
		out := []string{header(st, title, focused, w)}
		return pane.Block(append(out, s.editorView()...), w, h)
	}
	if s.hits != nil {
		return s.hits.view(st, focused, w, h)
	}
	if !sel.ok {
		out := []string{header(st, "Source", focused, w)}
		if sel.loaded {
			out = append(out, st.Dim.Render(fmt.Sprintf(" %s: %d slots, %d inherited", sel.obj.Name, len(sel.obj.Slots), len(sel.obj.Inherited))))
		}
		return pane.Block(out, w, h)
	}
	e := sel.slot
	sv := e.slot
	title := fmt.Sprintf("%s › %s", shortName(sv.Holder), sv.Name)
	var body []string
	scroll := s.srcOff
	switch sv.Kind {
	case api.KindMethod:
		if sv.Author != "" {
			// Who wrote it: a model's methods run under the write policy.
			title += " · by " + sv.Author
		}
		lines := s.hl.Lines(sv.Source)
		mark := s.marked(sv)
		for i, l := range lines {
			if i+1 == mark {
				body = append(body, st.Error.Render(fmt.Sprintf("▸%3d ", i+1))+l)
				continue
			}
			body = append(body, st.Dim.Render(fmt.Sprintf("%4d ", i+1))+l)
		}
		if mark > 0 && !s.mark.moved {
			scroll = max(mark-3, 0)
		}
	case api.KindPrimitive:
		body = []string{" primitive " + sv.Source, "", st.Dim.Render(" a Go-native behaviour, persisted by name")}
	default:
		body = []string{fmt.Sprintf(" %s %s", sv.Name, st.Dim.Render(valueType(sv.Value)))}
		for _, l := range strings.Split(valueText(sv.Value), "\n") {
			body = append(body, " = "+l)
		}
		switch {
		case sv.Target() != nil && !e.inherited:
			body = append(body, "", st.Dim.Render(" enter browses it · i inspects it · e sets it to a Go literal"))
		case sv.Target() != nil:
			body = append(body, "", st.Dim.Render(" enter browses it · i inspects it"))
		case !e.inherited:
			body = append(body, "", st.Dim.Render(" e sets it to a Go literal"))
		}
	}
	off := min(scroll, max(len(body)-1, 0))
	out := []string{header(st, title, focused, w)}
	out = append(out, body[off:]...)
	return pane.Block(out, w, h)
}

// editorView renders the textarea, with the compile error on a row of its
// own under the line it names (at the bottom when it names none or that
// line is scrolled away).
func (s *sourceEditor) editorView() []string {
	lines := strings.Split(strings.TrimRight(s.editor.View(), "\n"), "\n")
	if s.editErr == nil {
		return lines
	}
	msg := s.c.Styles.Error.Render(pane.Fit("  ✗ "+common.Sanitize(s.editErr.Error()), s.width))
	at := len(lines)
	if s.editErrLine > 0 {
		want := strconv.Itoa(s.editErrLine)
		for i, l := range lines {
			plain := ansi.Strip(l)
			if len(plain) >= 5 && strings.TrimSpace(plain[:5]) == want {
				at = i + 1
				// Past the line's soft-wrapped continuation rows.
				for at < len(lines) && strings.TrimSpace(safePrefix(ansi.Strip(lines[at]), 5)) == "" && at-i < 8 {
					if strings.TrimSpace(ansi.Strip(lines[at])) == "" {
						break
					}
					at++
				}
				break
			}
		}
	}
	out := make([]string, 0, len(lines)+1)
	out = append(out, lines[:at]...)
	out = append(out, msg)
	return append(out, lines[at:]...)
}

func safePrefix(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}
