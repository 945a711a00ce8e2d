package workspace

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"

	"batos/kernel/api"
	"batos/tui/common"
)

// action is what an evaluation was asked for.
type action int

const (
	doIt action = iota
	printIt
	inspectIt
)

// evalDoneMsg ends evaluation id.
type evalDoneMsg struct {
	id  int
	src string
	act action
	res api.Result
	err error
}

// Model is the workspace pane.
type Model struct {
	c     *common.Common
	keys  KeyMap
	input textarea.Model
	spin  spinner.Model

	width, height int
	focused       bool
	typing        bool

	running bool
	runID   int
	cancel  context.CancelFunc

	output    []string // what the last action showed under the input
	outputErr bool

	lobby   uint64
	history []string
	histPos int    // index into history while walking it; len(history) when not
	draft   string // the input before walking the history
}

var _ common.Pane = (*Model)(nil)

// New returns a workspace over c.Image.
func New(c *common.Common) *Model {
	ta := textarea.New()
	ta.Placeholder = "Go statements or expressions: ctrl+d do it, ctrl+p print it, ctrl+o inspect it"
	ta.Prompt = ""
	ta.ShowLineNumbers = true
	ta.CharLimit = 0
	ta.MaxHeight = 0
	// ctrl+d, ctrl+p are the workspace's: take them out of the text keys.
	ta.KeyMap.DeleteCharacterForward.SetKeys("delete")
	ta.KeyMap.LinePrevious.SetKeys("up")
	ta.KeyMap.LineNext.SetKeys("down")
	st := ta.Styles()
	st.Cursor.Blink = false // a steady cursor: no redraws while idle
	ta.SetStyles(st)
	m := &Model{
		c:     c,
		keys:  DefaultKeyMap(),
		input: ta,
		spin:  spinner.New(spinner.WithSpinner(spinner.MiniDot)),
	}
	return m
}

// Init loads the input history from the image.
func (m *Model) Init() tea.Cmd { return loadHistoryCmd(m.c.Image) }

// Title implements common.Pane.
func (m *Model) Title() string { return "Workspace" }

// Editing implements common.Pane: true while keys are typed into the text.
func (m *Model) Editing() bool { return m.focused && m.typing }

// Dirty implements common.Pane: input that was never evaluated would be
// lost by quitting.
func (m *Model) Dirty() bool {
	v := strings.TrimSpace(m.input.Value())
	if v == "" {
		return false
	}
	for _, h := range m.history {
		if strings.TrimSpace(h) == v {
			return false
		}
	}
	return true
}

// Busy reports an evaluation in progress (common.Busy).
func (m *Model) Busy() bool { return m.running }

// Cancel cancels the evaluation in progress, if any (common.Canceller).
func (m *Model) Cancel() {
	if m.running && m.cancel != nil {
		m.cancel()
	}
}

// Value returns the input text.
func (m *Model) Value() string { return m.input.Value() }

// SetValue replaces the input text.
func (m *Model) SetValue(s string) { m.input.SetValue(s) }

// ShortHelp implements common.Pane; out of typing mode it leads with the
// way back.
func (m *Model) ShortHelp() []key.Binding {
	if m.focused && !m.typing {
		return []key.Binding{m.keys.Resume, m.keys.DoIt, m.keys.PrintIt, m.keys.InspectIt}
	}
	return m.keys.ShortHelp()
}

// FullHelp implements common.Pane.
func (m *Model) FullHelp() [][]key.Binding { return m.keys.FullHelp() }

// SetSize implements common.Pane.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.layout()
}

// outputHeight is the number of lines under the input.
func (m *Model) outputHeight() int {
	n := len(m.output)
	if n < 1 {
		n = 1
	}
	if limit := m.height / 3; n > limit {
		n = max(limit, 1)
	}
	return n
}

func (m *Model) layout() {
	m.input.SetWidth(max(m.width, 1))
	m.input.SetHeight(max(m.height-m.outputHeight(), 1))
}

// Focus implements common.Pane; a focused workspace is typing.
func (m *Model) Focus() tea.Cmd {
	m.focused, m.typing = true, true
	return m.input.Focus()
}

// Blur implements common.Pane.
func (m *Model) Blur() {
	m.focused = false
	m.input.Blur()
}

func (m *Model) show(err bool, lines ...string) {
	for i, l := range lines {
		lines[i] = common.Sanitize(l)
	}
	m.output, m.outputErr = lines, err
	m.layout()
}

// Update implements common.Pane.
func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case historyLoadedMsg:
		m.lobby = msg.lobby
		m.history = msg.entries
		m.histPos = len(m.history)
		if msg.err != nil {
			return m, common.Err(msg.err)
		}
		return m, nil
	case evalDoneMsg:
		if msg.id != m.runID {
			return m, nil
		}
		return m, m.finish(msg)
	case completionMsg:
		return m, m.complete(msg)
	case spinner.TickMsg:
		if !m.running {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.PasteMsg:
		if m.focused {
			var cmd tea.Cmd
			m.input, cmd = m.input.Update(msg)
			return m, cmd
		}
	case tea.MouseWheelMsg:
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	if !m.focused {
		return nil
	}
	if !m.typing {
		if key.Matches(msg, m.keys.Resume) {
			m.typing = true
			return m.input.Focus()
		}
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Cancel):
		if m.running {
			m.cancel()
			return nil
		}
		m.typing = false
		m.input.Blur()
		return nil
	case key.Matches(msg, m.keys.DoIt):
		return m.eval(doIt)
	case key.Matches(msg, m.keys.PrintIt):
		return m.eval(printIt)
	case key.Matches(msg, m.keys.InspectIt):
		return m.eval(inspectIt)
	case key.Matches(msg, m.keys.Complete):
		before := m.beforeCursor()
		prefix, mode, ok := completionContext(before)
		if !ok {
			m.input.InsertString("\t")
			return nil
		}
		return completeCmd(m.c.Image, m.lobby, before, prefix, mode)
	case key.Matches(msg, m.keys.HistoryPrev) || (msg.String() == "up" && m.input.Line() == 0):
		m.walkHistory(-1)
		return nil
	case key.Matches(msg, m.keys.HistoryNext) || (msg.String() == "down" && m.input.Line() == m.input.LineCount()-1):
		m.walkHistory(+1)
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}

// beforeCursor is the current line up to the cursor.
func (m *Model) beforeCursor() string {
	lines := strings.Split(m.input.Value(), "\n")
	row := m.input.Line()
	if row >= len(lines) {
		return ""
	}
	r := []rune(lines[row])
	col := min(m.input.Column(), len(r))
	return string(r[:col])
}

func (m *Model) walkHistory(dir int) {
	if len(m.history) == 0 {
		return
	}
	pos := m.histPos + dir
	if pos < 0 || pos > len(m.history) {
		return
	}
	if m.histPos == len(m.history) {
		m.draft = m.input.Value()
	}
	m.histPos = pos
	if pos == len(m.history) {
		m.input.SetValue(m.draft)
	} else {
		m.input.SetValue(m.history[pos])
	}
}

func (m *Model) eval(act action) tea.Cmd {
	src := m.input.Value()
	if strings.TrimSpace(src) == "" {
		return nil
	}
	if m.running {
		return func() tea.Msg { return common.InfoMsg{Text: "an evaluation is running: esc cancels it"} }
	}
	// The input joins the history (and stops counting as unsaved) only
	// once it evaluates: the kernel keeps only inputs that succeed.
	m.histPos = len(m.history)
	m.runID++
	id := m.runID
	ctx, cancel := context.WithCancel(context.Background())
	m.running, m.cancel = true, cancel
	m.show(false)
	img := m.c.Image
	run := func() tea.Msg {
		res, err := img.Eval(ctx, src)
		return evalDoneMsg{id: id, src: src, act: act, res: res, err: err}
	}
	return tea.Batch(run, m.spin.Tick)
}

func (m *Model) finish(msg evalDoneMsg) tea.Cmd {
	m.running = false
	m.cancel()
	if msg.err != nil {
		if errors.Is(msg.err, context.Canceled) {
			m.show(true, "cancelled")
			return nil
		}
		m.show(true, strings.Split("error: "+msg.err.Error(), "\n")...)
		return nil
	}
	m.history = appendHistory(m.history, msg.src)
	m.histPos = len(m.history)
	res := msg.res
	switch msg.act {
	case printIt:
		if !res.HasValue {
			m.show(false, "(no value)"+txNote(res.Tx))
			return nil
		}
		m.show(false, strings.Split("⇒ "+res.Text, "\n")...)
	case inspectIt:
		m.show(false, "inspecting "+firstLine(res.Text))
		if res.Object != nil {
			oid := res.Object.OID
			return func() tea.Msg { return common.InspectMsg{OID: oid} }
		}
		text := res.Text
		if !res.HasValue {
			text = "(no value)"
		}
		return func() tea.Msg { return common.InspectValueMsg{Text: text} }
	default:
		m.show(false, "✓ done"+txNote(res.Tx))
	}
	return nil
}

func txNote(tx uint64) string {
	if tx == 0 {
		return ""
	}
	return fmt.Sprintf(" (transaction %d)", tx)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + "…"
	}
	return s
}

func (m *Model) complete(msg completionMsg) tea.Cmd {
	if msg.before != m.beforeCursor() {
		return nil // typed on since: stale
	}
	switch {
	case len(msg.candidates) == 0:
		m.show(false, "no completion for "+msg.prefix)
	case len(msg.candidates) == 1 && msg.mode == modeDot && !contains(objectMethods, msg.candidates[0]):
		m.rewriteToSend(msg.prefix, msg.candidates[0])
		m.show(false)
	default:
		m.input.InsertString(insertion(msg))
		if len(msg.candidates) > 1 {
			m.show(false, "completions: "+strings.Join(msg.candidates, " "))
		} else {
			m.show(false)
		}
	}
	if msg.err != nil {
		return common.Err(msg.err)
	}
	return nil
}

// rewriteToSend turns `.pre` into `.Send("selector"`.
func (m *Model) rewriteToSend(prefix, selector string) {
	for range []rune(prefix) {
		m.input, _ = m.input.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	m.input.InsertString(`Send("` + selector + `"`)
}

// View implements common.Pane.
func (m *Model) View() string {
	var out []string
	h := m.outputHeight()
	st := m.c.Styles
	switch {
	case m.running:
		out = []string{m.spin.View() + " evaluating… esc cancels"}
	case len(m.output) == 0 && m.focused && !m.typing:
		out = []string{st.Dim.Render("not typing: enter or i to type, tab to the next pane")}
	case len(m.output) == 0:
		out = []string{""}
	default:
		lines := m.output
		if len(lines) > h {
			lines = append(append([]string(nil), lines[:h-1]...), fmt.Sprintf("… %d more lines", len(lines)-h+1))
		}
		for _, l := range lines {
			if m.outputErr {
				out = append(out, st.Error.Render(l))
			} else {
				out = append(out, st.Info.Render(l))
			}
		}
	}
	body := m.input.View()
	return common.Fit(body, m.width, m.height-h) + "\n" + common.Fit(strings.Join(out, "\n"), m.width, h)
}
