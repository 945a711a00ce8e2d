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

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
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
	b   block
	act action
	res api.Result
	err error
}

// NextPane is the title of the pane that tab leaves the workspace for
// when there is nothing to complete: the one after it in the app's tab
// order.
const NextPane = "Transcript"

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
	src     string // the input evaluated last

	output    []string // what the last action showed under the input
	outputErr bool

	// frames is the chain of sends of the error output shows, whose
	// first line is output[frameRow]; frameSel is the frame selected
	// (-1: none).
	frames   []api.Frame
	frameRow int
	frameSel int

	clearArmed bool // the clear key was pressed once over unsaved input
	// confirm asks whether the pLLM may write a method nobody defined
	// (Lobby.pLLM.confirm).
	confirm pane.Confirm

	// client is the name this client's events carry (api.Status.Client);
	// printed is the output of this client's evaluations since the last
	// one began, sanitized, printedOpen set while its last line has no
	// newline yet, and cut the lines dropped from its front.
	client      string
	printed     []string
	printedOpen bool
	cut         int

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

		frameSel: -1,
	}
	return m
}

// maxPrinted bounds the output lines the pane keeps.
const maxPrinted = 1000

// clientMsg names this client, as its events do.
type clientMsg struct {
	name string
	err  error
}

// clientCmd asks the image which client this is.
func clientCmd(img api.Image) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		st, err := img.Status(ctx)
		return clientMsg{name: st.Client, err: err}
	}
}

// Init loads the input history from the image and learns which client
// this is, to show only its own output.
func (m *Model) Init() tea.Cmd { return tea.Batch(loadHistoryCmd(m.c.Image), clientCmd(m.c.Image)) }

// Title implements common.Pane.
func (m *Model) Title() string { return "Workspace" }

// Editing implements common.Pane: true while keys are typed into the text.
func (m *Model) Editing() bool { return m.focused && (m.typing || m.confirm.Asking()) }

// Dirty implements common.Pane: input that was never evaluated would be
// lost by quitting. The input counts as evaluated when it is, as a whole
// or each of its paragraphs, in the history; the result lines print it
// wrote count for nothing.
func (m *Model) Dirty() bool {
	v := withoutResults(m.input.Value())
	if v == "" || m.evaluated(v) {
		return false
	}
	for _, p := range paragraphs(v) {
		if !m.evaluated(withoutResults(p)) {
			return true
		}
	}
	return false
}

// evaluated reports whether the history holds src, result lines aside.
func (m *Model) evaluated(src string) bool {
	for _, h := range m.history {
		if withoutResults(h) == src {
			return true
		}
	}
	return false
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
// way back; while the last error shows frames, with the key that selects
// them, and while one is selected, with the keys that act on it.
func (m *Model) ShortHelp() []key.Binding {
	if m.confirm.Asking() {
		return m.confirm.ShortHelp()
	}
	if m.focused && m.frameSel >= 0 {
		move := key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("up/down", "frame"))
		unselect := key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "unselect"))
		return []key.Binding{m.keys.BrowseFrame, move, m.keys.Frames, unselect}
	}
	var frames []key.Binding
	if m.focused && len(m.frames) > 0 {
		frames = []key.Binding{m.keys.Frames}
	}
	if m.focused && !m.typing {
		return append(append([]key.Binding{m.keys.Resume}, frames...), m.keys.DoIt, m.keys.PrintIt, m.keys.InspectIt)
	}
	return append(frames, m.keys.ShortHelp()...)
}

// FullHelp implements common.Pane.
func (m *Model) FullHelp() [][]key.Binding { return m.keys.FullHelp() }

// SetSize implements common.Pane.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.layout()
}

// resultHeight is the number of lines the result (or the spinner) takes
// under the printed output.
func (m *Model) resultHeight() int {
	if m.running {
		return 1
	}
	return len(m.output)
}

// outputHeight is the number of lines under the input.
func (m *Model) outputHeight() int {
	n := len(m.printed) + m.resultHeight()
	if m.cut > 0 {
		n++
	}
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
	m.frames, m.frameSel = nil, -1
	m.layout()
}

// Update implements common.Pane.
func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case clientMsg:
		if msg.err != nil {
			return m, common.Err(fmt.Errorf("workspace: which client this is: %w", msg.err))
		}
		m.client = msg.name
		return m, nil
	case common.EventMsg:
		if ev := msg.Event; ev.Type == api.EventOutput && m.client != "" && ev.Client == m.client {
			m.print(ev.Output)
		}
		return m, nil
	case historyLoadedMsg:
		m.lobby = msg.lobby
		// Inputs that succeeded before the history arrived (typed ahead
		// of the load) are kept: the image's list was read before them.
		entries := msg.entries
		for _, e := range m.history {
			if !contains(entries, e) {
				entries = appendHistory(entries, e)
			}
		}
		m.history = entries
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
	case allowedMsg:
		return m, m.allowed(msg)
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
	if cmd, handled := m.confirm.Update(msg); handled {
		return cmd
	}
	armed := m.clearArmed
	m.clearArmed = false
	if key.Matches(msg, m.keys.Full) {
		return m.full()
	}
	if cmd, ok := m.frameKey(msg); ok {
		return cmd
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
	case key.Matches(msg, m.keys.Clear):
		switch {
		case m.running:
			return func() tea.Msg { return common.InfoMsg{Text: "an evaluation is running: esc cancels it"} }
		case m.Dirty() && !armed:
			m.clearArmed = true
			return func() tea.Msg {
				return common.InfoMsg{Text: "the input was never evaluated: ctrl+x again clears it"}
			}
		}
		m.clear()
		return nil
	case key.Matches(msg, m.keys.Complete):
		before := m.beforeCursor()
		prefix, mode, ok := completionContext(before)
		if !ok {
			// Nothing to complete: tab goes on to the next pane, as
			// everywhere else (see NextPane).
			return func() tea.Msg { return common.FocusMsg{Title: NextPane} }
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

func (m *Model) eval(act action) tea.Cmd { return m.run(m.target(), act) }

// run evaluates block b for act.
func (m *Model) run(b block, act action) tea.Cmd {
	src := b.src
	if withoutResults(src) == "" {
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
	m.running, m.cancel, m.src = true, cancel, src
	m.printed, m.printedOpen, m.cut = nil, false, 0
	m.show(false)
	img := m.c.Image
	run := func() tea.Msg {
		res, err := img.Eval(ctx, src)
		return evalDoneMsg{id: id, b: b, act: act, res: res, err: err}
	}
	return tea.Batch(run, m.spin.Tick)
}

func (m *Model) finish(msg evalDoneMsg) tea.Cmd {
	m.running = false
	m.cancel()
	if msg.err != nil {
		if api.KindOf(msg.err) == api.ErrCanceled || errors.Is(msg.err, context.Canceled) {
			m.show(true, "cancelled")
			return nil
		}
		m.showError(msg.err, msg.b)
		m.askConfirm(msg.err, msg.b, msg.act)
		return nil
	}
	m.history = appendHistory(m.history, msg.b.src)
	m.histPos = len(m.history)
	res := msg.res
	switch msg.act {
	case printIt:
		if msg.b.inline {
			m.writeResult(msg.b, res.Value.Text, res.HasValue)
		}
		if !res.HasValue {
			m.show(false, "(no value)"+txNote(res.Tx))
			return nil
		}
		m.show(false, strings.Split("⇒ "+res.Value.Text, "\n")...)
	case inspectIt:
		if !res.HasValue {
			m.show(false, "inspecting (no value)")
			return m.c.Navigate(common.InspectValueMsg{Value: api.Value{Text: "(no value)"}})
		}
		m.show(false, "inspecting "+firstLine(res.Value.Text))
		if r := res.Value.Object; r != nil {
			oid := r.OID
			return m.c.Navigate(common.InspectMsg{OID: oid})
		}
		v := res.Value
		return m.c.Navigate(common.InspectValueMsg{Value: v})
	default:
		m.show(false, "✓ done"+txNote(res.Tx))
	}
	return nil
}

// print adds output this client printed, a line at a time; an unfinished
// line is continued by the next output.
func (m *Model) print(text string) {
	for text != "" {
		line, rest, nl := strings.Cut(text, "\n")
		text = rest
		line = common.Sanitize(line)
		if m.printedOpen && len(m.printed) > 0 {
			last := &m.printed[len(m.printed)-1]
			if len(*last) < maxOutputLine {
				*last += line[:min(len(line), maxOutputLine-len(*last))]
			}
		} else {
			m.printed = append(m.printed, line[:min(len(line), maxOutputLine)])
		}
		m.printedOpen = !nl
	}
	if n := len(m.printed) - maxPrinted; n > 0 {
		m.printed = append([]string(nil), m.printed[n:]...)
		m.cut += n
	}
	m.layout()
}

// full opens what the pane shows under the input in the app's pager, in
// full: the last evaluation's printed output, then its result (a printed
// value, an error), which the pane cuts to its width and height.
func (m *Model) full() tea.Cmd {
	var lines []string
	if m.cut > 0 {
		lines = append(lines, fmt.Sprintf("(%d earlier lines of output not kept)", m.cut))
	}
	lines = append(lines, m.printed...)
	if m.running {
		lines = append(lines, "evaluating… esc cancels")
	} else {
		lines = append(lines, m.output...)
	}
	if len(lines) == 0 {
		return func() tea.Msg {
			return common.InfoMsg{Text: "no result yet: ctrl+d does it, ctrl+p prints it"}
		}
	}
	title := "Workspace: the last result"
	if m.src != "" {
		title = "Workspace: " + firstLine(strings.TrimSpace(m.src))
	}
	return common.Pager(title, strings.Join(lines, "\n"))
}

// maxOutputLine bounds one printed line as the pane keeps it.
const maxOutputLine = 16 << 10

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
	h := m.outputHeight()
	st := m.c.Styles
	var result []string
	switch {
	case m.running:
		result = []string{m.spin.View() + " evaluating… esc cancels"}
	case len(m.output) == 0 && len(m.printed) == 0 && m.focused && !m.typing:
		result = []string{st.Dim.Render("not typing: enter or i to type, tab to the next pane")}
	default:
		sel := -1
		if m.frameSel >= 0 {
			sel = m.frameRow + m.frameSel
		}
		rows := outputRows(len(m.output), h, sel)
		for _, i := range rows {
			switch {
			case i < 0:
				result = append(result, fmt.Sprintf("… %d more lines", len(m.output)-len(rows)+1))
			case i == sel:
				result = append(result, st.Selected.Render("▸"+strings.TrimPrefix(m.output[i], " ")))
			case len(m.frames) > 0 && i >= m.frameRow:
				result = append(result, m.output[i])
			case m.outputErr:
				result = append(result, st.Error.Render(m.output[i]))
			default:
				result = append(result, st.Info.Render(m.output[i]))
			}
		}
	}
	if m.confirm.Asking() {
		// The question is the output's last line, in view.
		q := st.Error.Render(m.confirm.Question())
		if len(result) >= h && len(result) > 0 {
			result[len(result)-1] = q
		} else {
			result = append(result, q)
		}
	}
	// What the evaluation printed goes above its result, its newest lines
	// kept when they do not all fit.
	var out []string
	if room := h - len(result); room > 0 && (len(m.printed) > 0 || m.cut > 0) {
		show := m.printed
		if total := m.cut + len(m.printed); total > room {
			show = m.printed[len(m.printed)-min(room-1, len(m.printed)):] // a row says how many are not shown
			out = append(out, st.Dim.Render(fmt.Sprintf("… %d earlier lines", total-len(show))))
		}
		out = append(out, show...)
	}
	out = append(out, result...)
	if len(out) == 0 {
		out = []string{""}
	}
	body := m.input.View()
	return common.Fit(body, m.width, m.height-h) + "\n" + common.Fit(strings.Join(out, "\n"), m.width, h)
}
