package browser

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
)

// column is one of the browser's three columns.
type column int

const (
	colTree column = iota
	colSlots
	colSource
)

// Model is the browser pane. It keeps the layout, which column has the
// focus, the status line and the messages exchanged with the app; the
// tree, the slot list and the source editor keep the rest, each in its
// own file.
//
// The sub-models are embedded so that their state reads as the
// one-model browser's did (m.rows, m.entries, m.editor), which the tests
// rely on; the browser's own code names them (m.tree.rows).
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	focus  bool
	col    column

	*statusLine
	*tree
	*slotList
	*sourceEditor
}

var _ common.Pane = (*Model)(nil)

// statusLine is the pane's last line when no prompt or question holds
// it: what the last action did, or why it did not. The browser and its
// sub-models share one.
type statusLine struct {
	status    string
	statusErr bool
}

// set shows text (which may quote the image: it is sanitized).
func (s *statusLine) set(text string, isErr bool) {
	s.status, s.statusErr = common.Sanitize(text), isErr
}

func (s *statusLine) clear() { s.status = "" }

// A request is what a sub-model asks of the browser while it handles a
// message: to move the focus, show an object, edit, browse, list
// senders. The browser acts on it in the same Update (do), so that the
// next key already finds it done; a message sent through the runtime
// could arrive after that key and let it act on the old selection.
type request interface{ isRequest() }

type (
	// selectReq shows oid in the slots and source columns, with slot
	// selected once it arrives. detached says the tree did not find it
	// from Lobby.
	selectReq struct {
		oid      uint64
		slot     string
		detached bool
	}
	// focusReq moves the focus to col; fromTop shows the source column
	// from its first line (the slot it shows may have changed).
	focusReq struct {
		col     column
		fromTop bool
	}
	// editReq edits the selected slot, as the Edit key does.
	editReq struct{}
	// methodReq opens the editor on the method selector held by oid.
	methodReq struct {
		oid                   uint64
		holder, selector, src string
	}
	// browseReq browses oid with selector selected, as BrowseMsg does.
	browseReq struct {
		oid      uint64
		selector string
	}
	// hitsReq lists the senders or implementors of selector, as
	// SendersMsg does.
	hitsReq struct {
		selector     string
		implementors bool
	}
	// inspectReq inspects oid in the inspector, which takes the focus.
	inspectReq struct{ oid uint64 }
)

func (selectReq) isRequest()  {}
func (focusReq) isRequest()   {}
func (editReq) isRequest()    {}
func (methodReq) isRequest()  {}
func (browseReq) isRequest()  {}
func (hitsReq) isRequest()    {}
func (inspectReq) isRequest() {}

// doneMsg reports a change made through the image (changeCmd).
type doneMsg struct {
	what string // "defined norm", "removed x", ...
	oid  uint64 // the object changed
	slot string // the slot to select afterwards
	tx   uint64
	err  error
	// define is set for an accept from the editor: an error keeps the edit.
	define bool
}

// changeCmd runs fn, a change to the image, and reports it as a doneMsg.
func changeCmd(img api.Image, what string, oid uint64, slot string, define bool, fn func(img api.Image) (api.Tx, error)) tea.Cmd {
	return func() tea.Msg {
		tx, err := fn(img)
		return doneMsg{what: what, oid: oid, slot: slot, tx: tx.ID, err: err, define: define}
	}
}

// New returns a browser over c.Image.
func New(c *common.Common) *Model {
	keys := DefaultKeyMap()
	status := &statusLine{}
	m := &Model{
		c:            c,
		keys:         keys,
		statusLine:   status,
		tree:         newTree(c, keys.Tree, status),
		slotList:     newSlotList(c, keys.Slots, status),
		sourceEditor: newSourceEditor(c, keys.Source, keys.Hits, status),
	}
	m.SetSize(80, 24)
	m.tree.rebuild()
	return m
}

// Init loads Lobby's children and Lobby.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.tree.loadKids(lobbyOID, ""), m.slotList.load())
}

func (m *Model) Title() string { return "Browser" }

func (m *Model) SetSize(width, height int) {
	m.width, m.height = max(width, 10), max(height, 4)
	l := m.layout()
	m.tree.SetSize(l.tree.w, l.tree.h)
	m.slotList.SetSize(l.slots.w, l.slots.h)
	m.slotList.setPromptWidth(m.width - 24)
	m.sourceEditor.SetSize(l.source.w, l.source.h)
}

func (m *Model) Focus() tea.Cmd {
	m.focus = true
	return tea.Batch(m.sourceEditor.Focus(), m.slotList.Focus())
}

func (m *Model) Blur() {
	m.focus = false
	m.sourceEditor.Blur()
	m.slotList.Blur()
}

// Editing is true while the editor, a prompt or a question has the keys.
func (m *Model) Editing() bool {
	return m.sourceEditor.asking() || m.slotList.asking()
}

// Dirty is true while the editor or a prompt holds a change that is not
// accepted.
func (m *Model) Dirty() bool {
	return m.sourceEditor.dirty() || m.slotList.promptDirty()
}

func (m *Model) ShortHelp() []key.Binding {
	switch {
	case m.slotList.confirm.Asking():
		return m.slotList.confirm.ShortHelp()
	case m.slotList.prompt != promptNone:
		return []key.Binding{m.keys.Slots.Prompt.Accept, m.keys.Slots.Prompt.Dismiss}
	}
	if h := m.sourceEditor.ShortHelp(); h != nil {
		return h // the editor or a hit list has the keys
	}
	k := m.keys
	return []key.Binding{k.Tree.Up, k.Tree.Down, k.Tree.Expand, k.Tree.Collapse, k.Edit, k.Slots.Add, k.Inspect}
}

func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{
		{k.Tree.Up, k.Tree.Down, k.Tree.Top, k.Tree.Bottom, k.Tree.PageUp, k.Tree.PageDown},
		{k.Tree.Expand, k.Tree.Collapse, k.NextColumn, k.PrevColumn, k.Inspect, k.Senders, k.Implementors, k.Full},
		{k.Edit, k.Source.Accept, k.Source.Cancel},
		{k.Slots.Add, k.Slots.Rename, k.Slots.Remove, k.Slots.Clone},
	}
}

// Selected returns the selected object and slot ("" when none).
func (m *Model) Selected() (oid uint64, slot string) {
	if s, ok := m.slotList.selectedSlot(); ok {
		return m.slotList.objOID, s.slot.Name
	}
	return m.slotList.objOID, ""
}

// --- update -----------------------------------------------------------------

func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case kidsMsg, pathMsg:
		return m, m.do(m.tree.Update(msg))
	case objectMsg:
		return m, m.do(m.slotList.Update(msg))
	case hitsMsg:
		return m, m.do(m.sourceEditor.Update(msg))
	case doneMsg:
		return m, m.done(msg)

	case common.EventMsg:
		return m, m.event(msg.Event)
	case common.BrowseMsg:
		cmd := m.browse(msg.OID, msg.Selector)
		m.sourceEditor.markLine(msg.OID, msg.Selector, msg.Line)
		return m, cmd
	case SendersMsg:
		return m, m.listHits(msg.Selector, msg.Implementors)
	case common.RefreshMsg:
		return m, m.refresh()

	case tea.PasteMsg:
		if m.sourceEditor.editing {
			return m, m.do(m.sourceEditor.Update(msg))
		}
		return m, m.do(m.slotList.Update(msg)) // to a prompt, if one is open
	case tea.MouseClickMsg:
		return m, m.click(msg.Mouse())
	case tea.MouseWheelMsg:
		m.wheel(msg.Mouse())
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

// do acts on what a sub-model asked (see request) and returns cmd with
// the commands that starts.
func (m *Model) do(cmd tea.Cmd, req request) tea.Cmd {
	switch r := req.(type) {
	case selectReq:
		cmd = tea.Batch(cmd, m.selectObject(r.oid, r.slot))
		m.tree.detached = r.detached
	case focusReq:
		m.col = r.col
		if r.fromTop {
			m.sourceEditor.top()
		}
	case editReq:
		cmd = tea.Batch(cmd, m.do(m.slotList.edit()))
	case methodReq:
		cmd = tea.Batch(cmd, m.startEdit(r))
	case browseReq:
		cmd = tea.Batch(cmd, m.browse(r.oid, r.selector))
	case hitsReq:
		cmd = tea.Batch(cmd, m.listHits(r.selector, r.implementors))
	case inspectReq:
		cmd = tea.Batch(cmd, m.c.Navigate(common.InspectMsg{OID: r.oid}))
	}
	return cmd
}

// key routes a key: to whichever sub-model has a prompt, a question, the
// editor or a hit list open; then the browser's own keys and the slot
// operations, from any column; then to the focused column's sub-model.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.slotList.asking():
		return m.do(m.slotList.Update(msg))
	case m.sourceEditor.asking():
		return m.do(m.sourceEditor.Update(msg))
	case m.sourceEditor.hits != nil:
		m.statusLine.clear()
		return m.do(m.sourceEditor.Update(msg))
	}
	m.statusLine.clear()
	k := m.keys
	switch {
	case key.Matches(msg, k.NextColumn):
		m.col = min(m.col+1, colSource)
		return nil
	case key.Matches(msg, k.PrevColumn):
		m.col = max(m.col-1, colTree)
		return nil
	case key.Matches(msg, k.Edit):
		return m.do(m.slotList.edit())
	case key.Matches(msg, k.Inspect):
		oid := m.slotList.objOID
		if e, ok := m.slotList.selectedSlot(); ok && m.col != colTree && e.slot.Target() != nil {
			oid = e.slot.Target().OID
		}
		return m.c.Navigate(common.InspectMsg{OID: oid})
	case key.Matches(msg, k.Full):
		e, ok := m.slotList.selectedSlot()
		if !ok {
			return nil
		}
		text := e.slot.Source
		if e.slot.Value != nil {
			text = e.slot.Value.Text
		}
		return common.Pager(m.slotList.obj.Name+" › "+e.slot.Name, text)
	case key.Matches(msg, k.Senders), key.Matches(msg, k.Implementors):
		sel, ok := m.slotList.selector()
		if !ok {
			return nil
		}
		return m.listHits(sel, key.Matches(msg, k.Implementors))
	}
	if cmd, ok := m.slotList.operate(msg); ok {
		return cmd
	}
	switch m.col {
	case colTree:
		return m.do(m.tree.Update(msg))
	case colSlots:
		return m.do(m.slotList.Update(msg))
	default:
		return m.do(m.sourceEditor.Update(msg))
	}
}

// holdsChange reports, saying so on the status line, whether the editor
// or a prompt holds a change that browsing elsewhere would drop.
func (m *Model) holdsChange() bool {
	if !m.Dirty() {
		return false
	}
	if m.sourceEditor.editing {
		m.statusLine.set("accept (ctrl+s) or cancel (esc) the edit first", true)
	} else {
		m.statusLine.set("finish (enter) or cancel (esc) the prompt first", true)
	}
	return true
}

// browse selects oid in the tree (finding its path from Lobby when it is not
// shown) and its selector's source.
func (m *Model) browse(oid uint64, selector string) tea.Cmd {
	if m.holdsChange() {
		return nil
	}
	m.sourceEditor.leave()
	m.slotList.closePrompt()
	if m.sourceEditor.hits != nil {
		m.sourceEditor.closeHits()
	}
	if m.tree.show(oid) {
		return m.selectObject(oid, selector)
	}
	return m.tree.findPath(oid, selector)
}

// selectObject shows oid in the slots and source columns, with slot
// selected once it arrives; the tree's cursor stands for it again.
func (m *Model) selectObject(oid uint64, slot string) tea.Cmd {
	m.tree.detached = false
	if oid != m.slotList.objOID {
		m.sourceEditor.top()
	}
	return m.slotList.show(oid, slot)
}

// listHits opens the list of the senders or implementors of selector
// over the source column and starts loading it; an edit or a prompt
// without changes gives way to it.
func (m *Model) listHits(selector string, implementors bool) tea.Cmd {
	if m.holdsChange() {
		return nil
	}
	selector = common.Sanitize(strings.TrimSpace(selector))
	if selector == "" {
		m.statusLine.set("senders and implementors need a selector", true)
		return nil
	}
	if m.sourceEditor.editing {
		m.sourceEditor.stopEdit()
	}
	m.sourceEditor.leave() // and a discard question that outlived its edit
	m.slotList.closePrompt()
	m.col = colSource
	return m.sourceEditor.openHits(selector, implementors)
}

// startEdit opens the editor on a method.
func (m *Model) startEdit(r methodReq) tea.Cmd {
	m.col = colSource
	m.sourceEditor.open(r)
	m.SetSize(m.width, m.height)
	return m.sourceEditor.Focus()
}

// refresh reloads every loaded object's children and the selected
// object: commits were missed, any of them may have changed.
func (m *Model) refresh() tea.Cmd {
	cmds := []tea.Cmd{m.slotList.load()}
	cmds = append(cmds, m.tree.reloadAll()...)
	return tea.Batch(cmds...)
}

// event reloads what a commit changed.
func (m *Model) event(ev api.Event) tea.Cmd {
	if ev.Type != api.EventCommit || ev.Tx == nil {
		return nil
	}
	changed := map[uint64]bool{}
	for _, r := range ev.Tx.Changed {
		changed[r.OID] = true
	}
	for _, c := range ev.Changes {
		changed[c.Object.OID] = true
	}
	cmds := m.tree.reloadChanged(changed)
	if m.slotList.touched(changed) {
		cmds = append(cmds, m.slotList.load())
	}
	return tea.Batch(cmds...)
}

// done handles the outcome of a change.
func (m *Model) done(msg doneMsg) tea.Cmd {
	if msg.err != nil {
		if msg.define && m.sourceEditor.defineFailed(msg.err) {
			return nil // the edit is kept, the error under its line
		}
		m.statusLine.set(msg.err.Error(), true)
		return nil
	}
	text := fmt.Sprintf("%s (tx %d)", msg.what, msg.tx)
	if msg.define {
		text += m.sourceEditor.defined()
	}
	m.statusLine.set(text, false)
	cmds := []tea.Cmd{func() tea.Msg { return common.InfoMsg{Text: text} }}
	// Reload what changed now; the commit event will do it again.
	if msg.oid == m.slotList.objOID {
		cmds = append(cmds, m.slotList.reload(msg.slot))
	}
	cmds = append(cmds, m.tree.reload(msg.oid, lobbyOID)...)
	return tea.Batch(cmds...)
}

// --- mouse ------------------------------------------------------------------

// click focuses the column clicked and puts its cursor on the row.
func (m *Model) click(ms tea.Mouse) tea.Cmd {
	if m.Editing() || ms.Button != tea.MouseLeft {
		return nil
	}
	l := m.layout()
	switch {
	case l.tree.contains(ms.X, ms.Y):
		m.col = colTree
		return m.do(m.tree.click(ms.Y - l.tree.y))
	case l.slots.contains(ms.X, ms.Y):
		m.col = colSlots
		if m.slotList.click(ms.Y - l.slots.y) {
			m.sourceEditor.top()
		}
	case l.source.contains(ms.X, ms.Y):
		m.col = colSource
		m.sourceEditor.click(ms.Y - l.source.y)
	}
	return nil
}

// wheel scrolls the column under the mouse.
func (m *Model) wheel(ms tea.Mouse) {
	d := 0
	switch ms.Button {
	case tea.MouseWheelDown:
		d = 3
	case tea.MouseWheelUp:
		d = -3
	default:
		return
	}
	l := m.layout()
	switch {
	case l.tree.contains(ms.X, ms.Y):
		m.tree.wheel(d)
	case l.slots.contains(ms.X, ms.Y):
		m.slotList.wheel(d)
	case l.source.contains(ms.X, ms.Y):
		m.sourceEditor.wheel(d)
	}
}
