package browser

import (
	"context"
	"fmt"
	"go/format"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// lobbyOID is the root of the tree.
const lobbyOID = 1

// column is one of the browser's three columns.
type column int

const (
	colTree column = iota
	colSlots
	colSource
)

// promptKind says what the one-line prompt is asking for.
type promptKind int

const (
	promptNone     promptKind = iota
	promptAddName             // the name of a new slot
	promptAddValue            // a Go literal or func source for it
	promptRename              // a slot's new name
	promptClone               // the Lobby slot a clone goes in
	promptLiteral             // a data slot's new value
)

// confirmKind says what a y/n question is about.
type confirmKind int

const (
	confirmNone    confirmKind = iota
	confirmRemove              // remove the selected slot
	confirmDiscard             // drop the unsaved edit
)

// Messages the browser's commands return.
type (
	kidsMsg struct {
		oid    uint64
		kids   []api.Child
		expand string // the path of the row to expand once loaded; "" for a reload
		err    error
	}
	objectMsg struct {
		oid  uint64
		view api.ObjectView
		err  error
	}
	// doneMsg reports a change made through the image.
	doneMsg struct {
		what string // "defined norm", "removed x", ...
		oid  uint64 // the object changed
		slot string // the slot to select afterwards
		tx   uint64
		err  error
		// define is set for an accept from the editor: an error keeps the edit.
		define bool
	}
	pathMsg struct {
		oid      uint64
		selector string
		path     []api.Child // from Lobby's child to oid
		kids     map[uint64][]api.Child
		found    bool
		err      error
	}
)

// row is one visible row of the tree.
type row struct {
	path  string // slot names from Lobby, "/"-separated: the row's identity
	oid   uint64
	slot  string // the slot of the parent row that holds it ("" for Lobby)
	name  string
	depth int
	// more is set on the "… N more" row standing for the older members
	// of a list (or map) slot the tree does not show; its oid is the
	// holder's, and expanding it shows them all.
	more int
	// list is, on a more row, the path of the list ("Lobby/x/generations").
	list string
}

// entry is one row of the slots column: a group header or a slot.
type entry struct {
	header    string
	slot      api.SlotView
	inherited bool
}

func (e entry) isSlot() bool { return e.header == "" }

// Model is the browser pane.
type Model struct {
	c      *common.Common
	keys   KeyMap
	hl     *highlighter
	width  int
	height int
	focus  bool
	col    column

	// The tree.
	kids     map[uint64][]api.Child
	expanded map[string]bool
	// showAll holds the paths of list slots ("Lobby/x/generations")
	// shown whole rather than only their newest maxMembers members.
	showAll map[string]bool
	rows    []row
	cursor  int
	treeOff int

	// The selected object and its slots.
	objOID     uint64
	obj        api.ObjectView
	objLoaded  bool
	detached   bool // the object is not in the tree (not found from Lobby)
	entries    []entry
	slotCursor int
	slotOff    int
	pendingSel string // select this slot when the object arrives
	srcOff     int

	// The method editor.
	editor      textarea.Model
	editing     bool
	editOID     uint64
	editHolder  string
	editSel     string
	editOrig    string
	editErr     error
	editErrLine int
	// accepting is set while a Define sent by ctrl+s is in flight;
	// accepted is the editor's text it sent.
	accepting bool
	accepted  string

	// Prompts and questions on the last line.
	input      textinput.Model
	prompt     promptKind
	promptOrig string         // the prompt's text when it opened
	promptSel  pane.SelectAll // the old value a prompt opened on, selected: typing replaces it
	promptErr  error          // why the literal typed was refused; shown over the prompt
	addName    string
	confirm    confirmKind
	status     string
	statusErr  bool

	// hits is the senders or implementors list shown over the source
	// column, nil when none; hitSeq numbers its requests, so that an
	// answer to a list closed or replaced since is dropped.
	hits   *hitList
	hitSeq int
}

var _ common.Pane = (*Model)(nil)

// New returns a browser over c.Image.
func New(c *common.Common) *Model {
	ta := textarea.New()
	ta.Prompt = ""
	ta.MaxHeight = 999 // three-digit line numbers, so an error finds its row
	ta.ShowLineNumbers = true
	st := ta.Styles()
	st.Cursor.Blink = false
	ta.SetStyles(st)
	ti := textinput.New()
	st2 := ti.Styles()
	st2.Cursor.Blink = false
	ti.SetStyles(st2)
	m := &Model{
		c:        c,
		keys:     DefaultKeyMap(),
		hl:       newHighlighter(),
		kids:     map[uint64][]api.Child{},
		expanded: map[string]bool{"Lobby": true},
		showAll:  map[string]bool{},
		editor:   ta,
		input:    ti,
		objOID:   lobbyOID,
		width:    80,
		height:   24,
	}
	m.rebuild()
	return m
}

// Init loads Lobby's children and Lobby.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.loadKids(lobbyOID, ""), m.loadObject(lobbyOID))
}

func (m *Model) Title() string { return "Browser" }

func (m *Model) SetSize(width, height int) {
	m.width, m.height = max(width, 10), max(height, 4)
	l := m.layout()
	m.editor.SetWidth(max(l.source.w, 10))
	m.editor.SetHeight(max(l.source.h-2, 1))
	m.input.SetWidth(max(m.width-24, 10))
	m.treeOff = pane.Scroll(m.cursor, m.treeOff, l.tree.h-1, len(m.rows))
	m.scrollHits()
}

func (m *Model) Focus() tea.Cmd {
	m.focus = true
	switch {
	case m.editing:
		return m.editor.Focus()
	case m.prompt != promptNone:
		return m.input.Focus()
	}
	return nil
}

func (m *Model) Blur() {
	m.focus = false
	m.editor.Blur()
	m.input.Blur()
}

// Editing is true while the editor, a prompt or a question has the keys.
func (m *Model) Editing() bool {
	return m.editing || m.prompt != promptNone || m.confirm != confirmNone
}

// Dirty is true while the editor holds a change that is not accepted.
func (m *Model) Dirty() bool {
	return m.editing && m.editor.Value() != m.editOrig ||
		m.prompt != promptNone && m.input.Value() != m.promptOrig
}

func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	if m.editing {
		return []key.Binding{k.Accept, k.Cancel}
	}
	if m.hits != nil {
		open := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open"))
		done := key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close the list"))
		return []key.Binding{k.Up, k.Down, open, done, k.Senders, k.Implementors}
	}
	return []key.Binding{k.Up, k.Down, k.Expand, k.Collapse, k.Edit, k.Add, k.Inspect}
}

func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown},
		{k.Expand, k.Collapse, k.NextColumn, k.PrevColumn, k.Inspect, k.Senders, k.Implementors},
		{k.Edit, k.Accept, k.Cancel},
		{k.Add, k.Rename, k.Remove, k.Clone},
	}
}

// Selected returns the selected object and slot ("" when none).
func (m *Model) Selected() (oid uint64, slot string) {
	if s, ok := m.selectedSlot(); ok {
		return m.objOID, s.slot.Name
	}
	return m.objOID, ""
}

// --- commands ---------------------------------------------------------------

func (m *Model) loadKids(oid uint64, expand string) tea.Cmd {
	img := m.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		kids, err := children(ctx, img, oid)
		return kidsMsg{oid: oid, kids: sanitizeKids(kids), expand: expand, err: err}
	}
}

func (m *Model) loadObject(oid uint64) tea.Cmd {
	img := m.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		v, err := img.Object(ctx, oid)
		return objectMsg{oid: oid, view: common.SanitizeObject(v), err: err}
	}
}

// findPath searches breadth first from Lobby for oid, visiting at most
// limit objects, and returns the slots that lead there.
func (m *Model) findPath(oid uint64, selector string) tea.Cmd {
	img := m.c.Image
	known := make(map[uint64][]api.Child, len(m.kids))
	for k, v := range m.kids {
		known[k] = v
	}
	return func() tea.Msg {
		const limit = 5000
		ctx, cancel := pane.Ctx()
		defer cancel()
		type step struct {
			oid  uint64
			path []api.Child
		}
		out := pathMsg{oid: oid, selector: selector, kids: map[uint64][]api.Child{}}
		if oid == lobbyOID {
			out.found = true
			return out
		}
		queue := []step{{oid: lobbyOID}}
		seen := map[uint64]bool{lobbyOID: true}
		for len(queue) > 0 && len(seen) < limit {
			s := queue[0]
			queue = queue[1:]
			kids, ok := known[s.oid]
			if !ok {
				var err error
				kids, err = children(ctx, img, s.oid)
				kids = sanitizeKids(kids)
				if err != nil {
					out.err = err
					return out
				}
			}
			out.kids[s.oid] = kids
			for _, k := range kids {
				if seen[k.OID] {
					continue
				}
				seen[k.OID] = true
				p := append(append([]api.Child(nil), s.path...), k)
				if k.OID == oid {
					out.path, out.found = p, true
					return out
				}
				queue = append(queue, step{k.OID, p})
			}
		}
		return out
	}
}

func (m *Model) change(what string, oid uint64, slot string, define bool, fn func(img api.Image) (api.Tx, error)) tea.Cmd {
	img := m.c.Image
	return func() tea.Msg {
		tx, err := fn(img)
		return doneMsg{what: what, oid: oid, slot: slot, tx: tx.ID, err: err, define: define}
	}
}

// --- the tree ---------------------------------------------------------------

// rebuild flattens the tree into rows, keeping the cursor on its path.
func (m *Model) rebuild() {
	var cur string
	if m.cursor < len(m.rows) {
		cur = m.rows[m.cursor].path
	}
	m.rows = m.rows[:0]
	var walk func(oid uint64, path, slot, name string, depth int)
	walk = func(oid uint64, path, slot, name string, depth int) {
		m.rows = append(m.rows, row{path: path, oid: oid, slot: slot, name: name, depth: depth})
		if !m.expanded[path] {
			return
		}
		kids := m.kids[oid]
		// How many members each list slot holds, for the bound.
		count := map[string]int{}
		for _, k := range kids {
			if base, ok := memberOf(k.Slot); ok {
				count[base]++
			}
		}
		seen := map[string]int{}
		for _, k := range kids {
			if base, ok := memberOf(k.Slot); ok {
				j := seen[base]
				seen[base]++
				if hide := count[base] - maxMembers; hide > 0 && j < hide && !m.showAll[path+"/"+base] {
					if j == 0 {
						m.rows = append(m.rows, row{path: path + "/" + base + "[…]", oid: oid, slot: base, name: name,
							depth: depth + 1, more: hide, list: path + "/" + base})
					}
					continue
				}
			}
			walk(k.OID, path+"/"+k.Slot, k.Slot, k.Name, depth+1)
		}
	}
	walk(lobbyOID, "Lobby", "", "Lobby", 0)
	m.cursor = pane.Clamp(m.cursor, len(m.rows))
	if cur != "" && m.rows[m.cursor].path != cur {
		for i := range m.rows {
			if m.rows[i].path == cur {
				m.cursor = i
				break
			}
		}
	}
	m.scrollTree()
}

func (m *Model) scrollTree() {
	m.treeOff = pane.Scroll(m.cursor, m.treeOff, m.layout().tree.h-1, len(m.rows))
}

// moveTree moves the cursor to i and loads the object there.
func (m *Model) moveTree(i int) tea.Cmd {
	i = pane.Clamp(i, len(m.rows))
	if i == m.cursor && !m.detached {
		m.scrollTree()
		return nil
	}
	m.cursor = i
	m.scrollTree()
	return m.selectObject(m.rows[i].oid, "")
}

// selectObject shows oid in the slots and source columns.
func (m *Model) selectObject(oid uint64, slot string) tea.Cmd {
	m.detached = false
	if oid != m.objOID {
		m.objOID, m.objLoaded = oid, false
		m.entries, m.slotCursor, m.slotOff, m.srcOff = nil, 0, 0, 0
	}
	m.pendingSel = slot
	return m.loadObject(oid)
}

func (m *Model) expand(i int) tea.Cmd {
	r := m.rows[i]
	if m.expanded[r.path] {
		return nil
	}
	if _, ok := m.kids[r.oid]; !ok {
		return m.loadKids(r.oid, r.path)
	}
	m.expanded[r.path] = true
	m.rebuild()
	return nil
}

// parentRow returns the index of row i's parent row, or i for Lobby.
func (m *Model) parentRow(i int) int {
	d := m.rows[i].depth
	for j := i - 1; j >= 0; j-- {
		if m.rows[j].depth < d {
			return j
		}
	}
	return i
}

// --- the slots column -------------------------------------------------------

var kindOrder = []struct{ kind, title string }{
	{api.KindParent, "parents"},
	{api.KindData, "data"},
	{api.KindMethod, "methods"},
	{api.KindPrimitive, "primitives"},
}

// group lays out the object's slots: own slots by kind, then the inherited
// ones by holder, each holder's by kind.
func (m *Model) group() {
	var es []entry
	for _, k := range kindOrder {
		first := true
		for _, s := range m.obj.Slots {
			if s.Kind != k.kind {
				continue
			}
			if first {
				es = append(es, entry{header: k.title})
				first = false
			}
			es = append(es, entry{slot: s})
		}
	}
	var holders []api.Ref
	byHolder := map[uint64][]api.SlotView{}
	for _, s := range m.obj.Inherited {
		if _, ok := byHolder[s.Holder.OID]; !ok {
			holders = append(holders, s.Holder)
		}
		byHolder[s.Holder.OID] = append(byHolder[s.Holder.OID], s)
	}
	for _, h := range holders {
		es = append(es, entry{header: "inherited from " + h.Name})
		for _, k := range kindOrder {
			for _, s := range byHolder[h.OID] {
				if s.Kind == k.kind {
					es = append(es, entry{slot: s, inherited: true})
				}
			}
		}
	}
	m.entries = es
}

// selectSlot puts the slot cursor on the named slot (own before inherited),
// or on the first slot.
func (m *Model) selectSlot(name string) {
	m.slotCursor = -1
	for i, e := range m.entries {
		if e.isSlot() && (e.slot.Name == name || (name == "" && m.slotCursor < 0)) {
			m.slotCursor = i
			if name != "" {
				break
			}
		}
	}
	if m.slotCursor < 0 {
		m.slotCursor = m.nextSlot(-1, 1)
	}
	m.scrollSlots()
}

// selectSlotNear puts the slot cursor on the named slot; when it is gone
// (removed, renamed) and near, where the cursor was, is known, on the slot
// now at that index, or the one before it when the gone slot was the last
// of its group (or of all), rather than back on the first slot.
func (m *Model) selectSlotNear(name string, near int) {
	if near < 0 || len(m.entries) == 0 {
		m.selectSlot(name)
		return
	}
	for _, e := range m.entries {
		if e.isSlot() && e.slot.Name == name {
			m.selectSlot(name)
			return
		}
	}
	i := min(near, len(m.entries)-1)
	if !m.entries[i].isSlot() {
		i = m.nextSlot(i, -1)
	}
	if !m.entries[i].isSlot() {
		i = m.nextSlot(i, 1)
	}
	m.slotCursor = i
	m.scrollSlots()
}

// nextSlot returns the slot entry after (dir 1) or before (dir -1) i, or i
// when there is none.
func (m *Model) nextSlot(i, dir int) int {
	for j := i + dir; j >= 0 && j < len(m.entries); j += dir {
		if m.entries[j].isSlot() {
			return j
		}
	}
	if i < 0 {
		return 0
	}
	return i
}

func (m *Model) scrollSlots() {
	m.slotOff = pane.Scroll(m.slotCursor, m.slotOff, m.layout().slots.h-1, len(m.entries))
}

func (m *Model) selectedSlot() (entry, bool) {
	if m.slotCursor >= 0 && m.slotCursor < len(m.entries) && m.entries[m.slotCursor].isSlot() {
		return m.entries[m.slotCursor], true
	}
	return entry{}, false
}

// --- update -----------------------------------------------------------------

// setStatus shows text (which may quote the image: it is sanitized) on
// the last line.
func (m *Model) setStatus(text string, isErr bool) {
	m.status, m.statusErr = common.Sanitize(text), isErr
}

func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case kidsMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
			return m, nil
		}
		m.kids[msg.oid] = msg.kids
		if msg.expand != "" {
			m.expanded[msg.expand] = true
		}
		m.rebuild()
		return m, nil

	case objectMsg:
		if msg.oid != m.objOID {
			return m, nil // the selection moved on
		}
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
			return m, nil
		}
		keep, near := m.pendingSel, -1
		if keep == "" {
			if e, ok := m.selectedSlot(); ok {
				keep, near = e.slot.Name, m.slotCursor
			}
		}
		m.obj, m.objLoaded = msg.view, true
		m.group()
		m.selectSlotNear(keep, near)
		if m.pendingSel != "" {
			m.col, m.srcOff = colSource, 0
			m.pendingSel = ""
		}
		return m, nil

	case pathMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
			return m, nil
		}
		for k, v := range msg.kids {
			m.kids[k] = v
		}
		if !msg.found {
			m.setStatus(fmt.Sprintf("object %d is not reachable from Lobby", msg.oid), false)
			cmd := m.selectObject(msg.oid, msg.selector)
			m.detached = true
			return m, cmd
		}
		p, parent := "Lobby", uint64(lobbyOID)
		for _, c := range msg.path {
			m.expanded[p] = true
			if base, ok := memberOf(c.Slot); ok && hiddenMember(m.kids[parent], base, c.Slot) {
				m.showAll[p+"/"+base] = true // an older member: show its list whole
			}
			p, parent = p+"/"+c.Slot, c.OID
		}
		m.rebuild()
		for i := range m.rows {
			if m.rows[i].path == p {
				m.cursor = i
				break
			}
		}
		m.scrollTree()
		return m, m.selectObject(msg.oid, msg.selector)

	case doneMsg:
		return m, m.done(msg)

	case common.EventMsg:
		return m, m.event(msg.Event)

	case common.BrowseMsg:
		return m, m.browse(msg.OID, msg.Selector)

	case SendersMsg:
		return m, m.listHits(msg.Selector, msg.Implementors)

	case hitsMsg:
		m.gotHits(msg)
		return m, nil

	case common.RefreshMsg:
		return m, m.refresh()

	case tea.PasteMsg:
		switch {
		case m.editing:
			var cmd tea.Cmd
			m.editor, cmd = m.editor.Update(msg)
			return m, cmd
		case m.prompt != promptNone:
			m.promptSel.Before(&m.input, msg)
			var cmd tea.Cmd
			m.input, cmd = m.input.Update(msg)
			return m, cmd
		}

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

// browse selects oid in the tree (finding its path from Lobby when it is not
// shown) and its selector's source.
func (m *Model) browse(oid uint64, selector string) tea.Cmd {
	if m.Dirty() {
		if m.editing {
			m.setStatus("accept (ctrl+s) or cancel (esc) the edit first", true)
		} else {
			m.setStatus("finish (enter) or cancel (esc) the prompt first", true)
		}
		return nil
	}
	m.editing = false
	m.prompt, m.confirm = promptNone, confirmNone
	if m.hits != nil {
		m.closeHits()
	}
	for i := range m.rows {
		if m.rows[i].oid == oid {
			m.cursor = i
			m.scrollTree()
			return m.selectObject(oid, selector)
		}
	}
	return m.findPath(oid, selector)
}

// refresh reloads every loaded object's children and the selected
// object: commits were missed, any of them may have changed.
func (m *Model) refresh() tea.Cmd {
	cmds := []tea.Cmd{m.loadObject(m.objOID)}
	for oid := range m.kids {
		cmds = append(cmds, m.loadKids(oid, ""))
	}
	return tea.Batch(cmds...)
}

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
	var cmds []tea.Cmd
	for oid := range m.kids {
		if changed[oid] {
			cmds = append(cmds, m.loadKids(oid, ""))
		}
	}
	reload := changed[m.objOID]
	for _, s := range m.obj.Inherited {
		reload = reload || changed[s.Holder.OID]
	}
	if reload {
		cmds = append(cmds, m.loadObject(m.objOID))
	}
	return tea.Batch(cmds...)
}

// done handles the outcome of a change.
func (m *Model) done(msg doneMsg) tea.Cmd {
	if msg.define {
		m.accepting = false
	}
	if msg.err != nil {
		if msg.define && m.editing {
			m.editErr = msg.err
			m.editErrLine, _ = pane.ErrPos(msg.err)
			m.setStatus("not accepted: "+msg.err.Error(), true)
			return nil
		}
		m.setStatus(msg.err.Error(), true)
		return nil
	}
	text := fmt.Sprintf("%s (tx %d)", msg.what, msg.tx)
	if msg.define && m.editing && m.editor.Value() != m.accepted {
		// Keys typed while the Define was in flight: keep them, and
		// keep editing; what is saved now is what was accepted.
		m.editOrig, m.editErr, m.editErrLine = m.accepted, nil, 0
		text += "; edited since: still editing"
	} else if msg.define {
		m.editing, m.editErr, m.editErrLine = false, nil, 0
		m.editor.Blur()
	}
	m.setStatus(text, false)
	cmds := []tea.Cmd{func() tea.Msg { return common.InfoMsg{Text: text} }}
	// Reload what changed now; the commit event will do it again.
	if msg.oid == m.objOID {
		if msg.slot != "" {
			m.pendingSel = msg.slot
		}
		cmds = append(cmds, m.loadObject(m.objOID))
	}
	for _, oid := range []uint64{msg.oid, lobbyOID} {
		if _, ok := m.kids[oid]; ok {
			cmds = append(cmds, m.loadKids(oid, ""))
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.confirm != confirmNone:
		return m.answer(msg.String())
	case m.prompt != promptNone:
		return m.promptKey(msg)
	case m.editing:
		return m.editKey(msg)
	case m.hits != nil:
		m.status = ""
		return m.listKey(msg)
	}
	m.status = ""
	k := m.keys
	switch {
	case key.Matches(msg, k.NextColumn):
		m.col = min(m.col+1, colSource)
		return nil
	case key.Matches(msg, k.PrevColumn):
		m.col = max(m.col-1, colTree)
		return nil
	case key.Matches(msg, k.Inspect):
		oid := m.objOID
		if e, ok := m.selectedSlot(); ok && m.col != colTree && e.slot.Target() != nil {
			oid = e.slot.Target().OID
		}
		return func() tea.Msg { return common.InspectMsg{OID: oid} }
	case key.Matches(msg, k.Add):
		return m.ask(promptAddName, "", "")
	case key.Matches(msg, k.Clone):
		return m.ask(promptClone, "", "")
	case key.Matches(msg, k.Rename):
		if e, ok := m.ownSlot(); ok {
			return m.ask(promptRename, e.slot.Name, "")
		}
		return nil
	case key.Matches(msg, k.Remove):
		if _, ok := m.ownSlot(); ok {
			m.confirm = confirmRemove
		}
		return nil
	case key.Matches(msg, k.Senders):
		return m.hitsKey(false)
	case key.Matches(msg, k.Implementors):
		return m.hitsKey(true)
	}
	switch m.col {
	case colTree:
		return m.treeKey(msg)
	case colSlots:
		return m.slotsKey(msg)
	default:
		return m.sourceKey(msg)
	}
}

// ownSlot returns the selected slot when it is the object's own.
func (m *Model) ownSlot() (entry, bool) {
	e, ok := m.selectedSlot()
	if !ok {
		m.setStatus("no slot selected", true)
		return e, false
	}
	if e.inherited {
		m.setStatus(fmt.Sprintf("%s is inherited from %s: change it there", e.slot.Name, e.slot.Holder.Name), true)
		return e, false
	}
	return e, true
}

func (m *Model) page() int { return max(m.layout().tree.h-2, 1) }

func (m *Model) treeKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Down):
		return m.moveTree(m.cursor + 1)
	case key.Matches(msg, k.Up):
		return m.moveTree(m.cursor - 1)
	case key.Matches(msg, k.Top):
		return m.moveTree(0)
	case key.Matches(msg, k.Bottom):
		return m.moveTree(len(m.rows) - 1)
	case key.Matches(msg, k.PageDown):
		return m.moveTree(m.cursor + m.page())
	case key.Matches(msg, k.PageUp):
		return m.moveTree(m.cursor - m.page())
	case key.Matches(msg, k.Expand):
		r := m.rows[m.cursor]
		if r.more > 0 {
			m.showAll[r.list] = true
			m.rebuild()
			return nil
		}
		kids, loaded := m.kids[r.oid]
		if m.expanded[r.path] || (loaded && len(kids) == 0) {
			m.col = colSlots // nothing more to open here: go to the slots
			return nil
		}
		return m.expand(m.cursor)
	case key.Matches(msg, k.Collapse):
		r := m.rows[m.cursor]
		if m.expanded[r.path] && r.depth > 0 {
			delete(m.expanded, r.path)
			m.rebuild()
			return nil
		}
		return m.moveTree(m.parentRow(m.cursor))
	case key.Matches(msg, k.Edit):
		return m.editSelected()
	}
	return nil
}

func (m *Model) slotsKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Down):
		m.slotCursor = m.nextSlot(m.slotCursor, 1)
	case key.Matches(msg, k.Up):
		m.slotCursor = m.nextSlot(m.slotCursor, -1)
	case key.Matches(msg, k.Top):
		m.slotCursor = m.nextSlot(-1, 1)
	case key.Matches(msg, k.Bottom):
		m.slotCursor = m.nextSlot(len(m.entries), -1)
	case key.Matches(msg, k.Collapse):
		m.col = colTree
	case msg.String() == "enter":
		e, ok := m.selectedSlot()
		if ok && e.slot.Target() != nil && e.slot.Kind != api.KindMethod {
			return m.browse(e.slot.Target().OID, "")
		}
		return m.editSelected()
	case key.Matches(msg, k.Expand):
		m.col = colSource
	case key.Matches(msg, k.Edit):
		return m.editSelected()
	}
	m.srcOff = 0
	m.scrollSlots()
	return nil
}

func (m *Model) sourceKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Down):
		m.srcOff++
	case key.Matches(msg, k.Up):
		m.srcOff = max(m.srcOff-1, 0)
	case key.Matches(msg, k.Top):
		m.srcOff = 0
	case key.Matches(msg, k.Collapse), key.Matches(msg, k.Cancel):
		m.col = colSlots
	case msg.String() == "enter", key.Matches(msg, k.Edit):
		return m.editSelected()
	}
	return nil
}

// editSelected edits the selected slot: a method in the editor (on the
// object that holds it), a data slot through a literal prompt that starts
// with the value written as a literal (a reference as ObjectAt(id)), or
// empty when no literal writes it.
func (m *Model) editSelected() tea.Cmd {
	e, ok := m.selectedSlot()
	if !ok {
		return nil
	}
	switch e.slot.Kind {
	case api.KindMethod:
		return m.startEdit(e.slot.Holder.OID, e.slot.Holder.Name, e.slot.Name, e.slot.Source)
	case api.KindData:
		if e.inherited {
			m.setStatus(fmt.Sprintf("%s is inherited from %s: change it there", e.slot.Name, e.slot.Holder.Name), true)
			return nil
		}
		lit, ok := pane.LiteralOf(e.slot.Value)
		if !ok {
			return m.ask(promptLiteral, "", "a Go literal (the value is not one)")
		}
		return m.ask(promptLiteral, lit, "")
	case api.KindPrimitive:
		m.setStatus(e.slot.Name+" is a primitive, Go-native: it has no source to edit", false)
	}
	return nil
}

func (m *Model) startEdit(oid uint64, holder, selector, src string) tea.Cmd {
	m.editing, m.editOID, m.editHolder, m.editSel, m.editOrig = true, oid, holder, selector, src
	m.editErr, m.editErrLine = nil, 0
	m.col = colSource
	m.editor.SetValue(src)
	m.editOrig = m.editor.Value() // the textarea turns tabs into spaces
	m.editor.MoveToBegin()
	m.SetSize(m.width, m.height)
	return m.editor.Focus()
}

func (m *Model) editKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Accept):
		if m.accepting {
			m.setStatus("still accepting "+m.editSel+"…", false)
			return nil
		}
		m.accepting, m.accepted = true, m.editor.Value()
		oid, sel, src := m.editOID, m.editSel, gofmt(m.accepted)
		m.setStatus("accepting "+sel+"…", false)
		return m.change("defined "+sel, oid, sel, true, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			return img.Define(ctx, oid, sel, src)
		})
	case key.Matches(msg, m.keys.Cancel):
		if m.Dirty() {
			m.confirm = confirmDiscard
			return nil
		}
		m.stopEdit()
		return nil
	}
	var cmd tea.Cmd
	m.editor, cmd = m.editor.Update(msg)
	return cmd
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

func (m *Model) stopEdit() {
	m.editing, m.editErr, m.editErrLine, m.accepting = false, nil, 0, false
	m.editor.Blur()
}

// ask opens the prompt.
func (m *Model) ask(kind promptKind, value, placeholder string) tea.Cmd {
	m.prompt, m.promptErr = kind, nil
	m.input.SetValue(value)
	m.promptOrig = m.input.Value()
	m.input.Placeholder = placeholder
	m.input.CursorEnd()
	cmd := m.input.Focus()
	m.promptSel.Start(&m.input, m.c.Styles.Selected)
	return cmd
}

func (m *Model) promptLabel() string {
	switch m.prompt {
	case promptAddName:
		return fmt.Sprintf("new slot on %s, name: ", m.obj.Name)
	case promptAddValue:
		return m.addName + " = Go literal, or func source (empty: a method): "
	case promptRename:
		return "rename to: "
	case promptClone:
		return fmt.Sprintf("clone %s into Lobby slot: ", m.obj.Name)
	case promptLiteral:
		e, _ := m.selectedSlot()
		return e.slot.Name + " = "
	}
	return ""
}

func (m *Model) promptKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.promptSel.End(&m.input)
		m.prompt, m.promptErr = promptNone, nil
		m.input.Blur()
		return nil
	case "enter":
		m.promptSel.End(&m.input)
	default:
		if m.promptSel.Before(&m.input, msg) {
			return nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	}
	val := strings.TrimSpace(m.input.Value())
	kind := m.prompt
	if kind == promptLiteral || kind == promptAddValue && val != "" && !strings.HasPrefix(val, "func") {
		return m.literalEntered(kind)
	}
	m.prompt = promptNone
	m.input.Blur()
	oid := m.objOID
	switch kind {
	case promptAddName:
		if val == "" {
			return nil
		}
		m.addName = val
		return m.ask(promptAddValue, "", "")
	case promptAddValue:
		name := m.addName
		if val == "" {
			return m.startEdit(oid, m.obj.Name, name, fmt.Sprintf("func %s(self Object) any {\n\treturn nil\n}", name))
		}
		// func source: a literal went to literalEntered.
		return m.change("defined "+name, oid, name, false, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			return img.Define(ctx, oid, name, val)
		})
	case promptRename:
		e, ok := m.selectedSlot()
		if !ok || val == "" || val == e.slot.Name {
			return nil
		}
		from := e.slot.Name
		return m.change("renamed "+from+" to "+val, oid, val, false, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			return img.RenameSlot(ctx, oid, from, val)
		})
	case promptClone:
		if val == "" {
			return nil
		}
		return m.change("cloned "+m.obj.Name+" into Lobby."+val, lobbyOID, "", false, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			_, err := img.Clone(ctx, oid, lobbyOID, val)
			return api.Tx{}, err
		})
	}
	return nil
}

// literalEntered sets a slot to the literal the prompt holds, read with
// api.ParseLiteral: nothing typed is evaluated. A refusal keeps the prompt
// open with its text, the cursor on the column it names, and the error
// over it; nothing is set.
func (m *Model) literalEntered(kind promptKind) tea.Cmd {
	text := m.input.Value()
	v, err := api.ParseLiteral(text)
	if err != nil {
		m.promptErr = err
		if pos, ok := pane.CursorAt(text, err); ok {
			m.input.SetCursor(pos)
		}
		return nil
	}
	slot, what := m.addName, "added "+m.addName
	if kind == promptLiteral {
		e, ok := m.selectedSlot()
		if !ok {
			m.prompt, m.promptErr = promptNone, nil
			m.input.Blur()
			return nil
		}
		slot, what = e.slot.Name, "set "+e.slot.Name
	}
	m.prompt, m.promptErr = promptNone, nil
	m.input.Blur()
	oid := m.objOID
	return m.change(what, oid, slot, false, func(img api.Image) (api.Tx, error) {
		ctx, cancel := pane.Ctx()
		defer cancel()
		return img.SetSlot(ctx, oid, slot, v)
	})
}

func (m *Model) answer(k string) tea.Cmd {
	kind := m.confirm
	switch k {
	case "y", "Y":
	case "n", "N", "esc":
		m.confirm = confirmNone
		return nil
	default:
		return nil
	}
	m.confirm = confirmNone
	switch kind {
	case confirmDiscard:
		m.stopEdit()
	case confirmRemove:
		e, ok := m.selectedSlot()
		if !ok {
			return nil
		}
		oid, name := m.objOID, e.slot.Name
		return m.change("removed "+name, oid, "", false, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			return img.RemoveSlot(ctx, oid, name)
		})
	}
	return nil
}

// --- mouse ------------------------------------------------------------------

func (r rect) contains(x, y int) bool { return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h }

func (m *Model) click(ms tea.Mouse) tea.Cmd {
	if m.Editing() || ms.Button != tea.MouseLeft {
		return nil
	}
	l := m.layout()
	switch {
	case l.tree.contains(ms.X, ms.Y):
		m.col = colTree
		if i := m.treeOff + ms.Y - l.tree.y - 1; ms.Y > l.tree.y && i < len(m.rows) {
			return m.moveTree(i)
		}
	case l.slots.contains(ms.X, ms.Y):
		m.col = colSlots
		if i := m.slotOff + ms.Y - l.slots.y - 1; ms.Y > l.slots.y && i < len(m.entries) && m.entries[i].isSlot() {
			m.slotCursor, m.srcOff = i, 0
		}
	case l.source.contains(ms.X, ms.Y):
		m.col = colSource
		if m.hits != nil {
			m.clickHits(l.source, ms.Y)
		}
	}
	return nil
}

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
		m.treeOff = max(0, min(m.treeOff+d, len(m.rows)-(l.tree.h-1)))
	case l.slots.contains(ms.X, ms.Y):
		m.slotOff = max(0, min(m.slotOff+d, len(m.entries)-(l.slots.h-1)))
	case l.source.contains(ms.X, ms.Y) && m.hits != nil:
		m.hits.off = max(0, min(m.hits.off+d, len(m.hits.hits)-(l.source.h-1)))
	case l.source.contains(ms.X, ms.Y) && !m.editing:
		m.srcOff = max(0, m.srcOff+d)
	}
}

// sanitizeKids sanitizes the slot and object names of kids.
// maxMembers is how many members of one list (or map) slot the tree
// shows, the newest (the last); a "… N more" row stands for the others.
const maxMembers = 50

// children lists the objects oid refers to: those its slots hold
// (img.Children), then those held in its own list and map data slots,
// named like "generations[3]" and `jobs["k"]`, so that records kept in a
// list are reachable in the tree.
func children(ctx context.Context, img api.Image, oid uint64) ([]api.Child, error) {
	kids, err := img.Children(ctx, oid)
	if err != nil {
		return kids, err
	}
	v, err := img.Object(ctx, oid)
	if err != nil {
		return kids, nil // the slots' objects are still worth showing
	}
	for _, s := range v.Slots {
		if s.Kind != api.KindData || s.Value == nil {
			continue
		}
		switch s.Value.Kind {
		case api.ValueList:
			for i, it := range s.Value.Items {
				if it.Kind == api.ValueObject && it.Object != nil {
					kids = append(kids, api.Child{Slot: s.Name + "[" + strconv.Itoa(i) + "]", Ref: *it.Object})
				}
			}
		case api.ValueMap:
			for _, e := range s.Value.Entries {
				if e.Value.Kind == api.ValueObject && e.Value.Object != nil {
					kids = append(kids, api.Child{Slot: s.Name + "[" + strconv.Quote(e.Key) + "]", Ref: *e.Value.Object})
				}
			}
		}
	}
	return kids, nil
}

// hiddenMember reports whether the member slot of list base is one of
// those older than the newest maxMembers, which the tree hides.
func hiddenMember(kids []api.Child, base, slot string) bool {
	n, at := 0, -1
	for _, k := range kids {
		if b, ok := memberOf(k.Slot); ok && b == base {
			if k.Slot == slot {
				at = n
			}
			n++
		}
	}
	return at >= 0 && at < n-maxMembers
}

// memberOf reports whether a child's slot names a list or map member
// ("generations[3]"), and the list slot's name.
func memberOf(slot string) (string, bool) {
	i := strings.IndexByte(slot, '[')
	if i <= 0 || !strings.HasSuffix(slot, "]") {
		return "", false
	}
	return slot[:i], true
}

func sanitizeKids(kids []api.Child) []api.Child {
	for i := range kids {
		kids[i].Slot = common.Sanitize(kids[i].Slot)
		kids[i].Ref = common.SanitizeRef(kids[i].Ref)
	}
	return kids
}
