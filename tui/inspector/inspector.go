package inspector

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// KeyMap is the inspector's key bindings.
type KeyMap struct {
	Up, Down, Top, Bottom key.Binding
	Open, Back, Edit      key.Binding
	Commit, Cancel        key.Binding
	Browse                key.Binding
	Full                  key.Binding
}

// DefaultKeyMap returns the inspector's default key bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:     key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:   key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		Top:    key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom: key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Open:   key.NewBinding(key.WithKeys("enter", "l", "right"), key.WithHelp("enter", "drill in")),
		Back:   key.NewBinding(key.WithKeys("backspace", "h", "left"), key.WithHelp("backspace/h", "back")),
		Edit:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit slot (Go literal)")),
		Commit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "commit")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Browse: key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "browse")),
		Full:   key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "value in full")),
	}
}

type (
	objectMsg struct {
		oid  uint64
		view api.ObjectView
		err  error
	}
	setMsg struct {
		oid  uint64
		slot string
		tx   uint64
		err  error
	}
)

// item is one row of an object frame.
type item struct {
	slot      api.SlotView
	inherited bool
}

// frame is one value on the stack: an object (its slots, loaded from the
// image), or a value that is not one (a list's items and a map's entries
// as rows, anything else as its printed text).
type frame struct {
	oid    uint64    // 0: a value, in value
	value  api.Value // sanitized
	name   string    // a value's place in the frame below ("[2]", a key); "" at the bottom
	view   api.ObjectView
	loaded bool
	items  []item
	cursor int
	off    int
}

func (f *frame) title() string {
	switch {
	case f.oid == 0 && f.name != "":
		return f.name
	case f.oid == 0:
		return "value"
	case f.loaded:
		return f.view.Name
	}
	return fmt.Sprintf("object %d", f.oid)
}

// valueFrame returns the frame of a value: a list's items and a map's
// entries become rows, each a slot-like item holding its value.
func valueFrame(v api.Value, name string) *frame {
	f := &frame{value: common.SanitizeValue(v), name: name, loaded: true}
	for i := range f.value.Items {
		f.items = append(f.items, item{slot: api.SlotView{Name: fmt.Sprintf("[%d]", i), Kind: api.KindData, Value: &f.value.Items[i]}})
	}
	for i := range f.value.Entries {
		e := &f.value.Entries[i]
		f.items = append(f.items, item{slot: api.SlotView{Name: common.Sanitize(e.Key), Kind: api.KindData, Value: &e.Value}})
	}
	return f
}

// container reports whether v has rows of its own to drill into.
func container(v *api.Value) bool {
	return v != nil && (v.Kind == api.ValueList || v.Kind == api.ValueMap)
}

// Model is the inspector pane.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	focus  bool
	stack  []*frame

	input    textinput.Model
	editing  bool
	editSlot string
	editOrig string
	editSel  pane.SelectAll // the old value the edit opened on, selected: typing replaces it
	editErr  error
	status   string
}

var _ common.Pane = (*Model)(nil)

// New returns an inspector over c.Image, showing nothing yet.
func New(c *common.Common) *Model {
	ti := textinput.New()
	st := ti.Styles()
	st.Cursor.Blink = false
	ti.SetStyles(st)
	ti.Prompt = ""
	return &Model{c: c, keys: DefaultKeyMap(), input: ti, width: 80, height: 24}
}

func (m *Model) Init() tea.Cmd  { return nil }
func (m *Model) Title() string  { return "Inspector" }
func (m *Model) Editing() bool  { return m.editing }
func (m *Model) Blur()          { m.focus = false; m.input.Blur() }
func (m *Model) Focus() tea.Cmd { m.focus = true; return nil }

func (m *Model) SetSize(width, height int) {
	m.width, m.height = max(width, 10), max(height, 4)
	m.input.SetWidth(max(m.width-30, 10))
	if f := m.top(); f != nil {
		m.scroll(f)
	}
}

func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	if m.editing {
		return []key.Binding{k.Commit, k.Cancel}
	}
	return []key.Binding{k.Up, k.Down, k.Open, k.Back, k.Edit}
}

func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{{k.Up, k.Down, k.Top, k.Bottom}, {k.Open, k.Back, k.Browse, k.Full}, {k.Edit, k.Commit, k.Cancel}}
}

// Dirty is true while a typed literal differs from the slot's value.
func (m *Model) Dirty() bool { return m.editing && m.input.Value() != m.editOrig }

// Depth is how many values are on the stack.
func (m *Model) Depth() int { return len(m.stack) }

func (m *Model) top() *frame {
	if len(m.stack) == 0 {
		return nil
	}
	return m.stack[len(m.stack)-1]
}

func (m *Model) load(oid uint64) tea.Cmd {
	img := m.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		v, err := img.Object(ctx, oid)
		return objectMsg{oid: oid, view: common.SanitizeObject(v), err: err}
	}
}

// reload loads again each object on the stack whose frame changed
// reports true for, once each.
func (m *Model) reload(changed func(*frame) bool) tea.Cmd {
	var cmds []tea.Cmd
	done := map[uint64]bool{}
	for _, f := range m.stack {
		if f.oid != 0 && !done[f.oid] && changed(f) {
			done[f.oid] = true
			cmds = append(cmds, m.load(f.oid))
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) push(f *frame) tea.Cmd {
	m.stack = append(m.stack, f)
	m.editing, m.editErr, m.status = false, nil, ""
	if f.oid != 0 {
		return m.load(f.oid)
	}
	return nil
}

// restart starts a new breadcrumb trail at f: something inspected anew
// (:inspect EXPR, the workspace's inspect it, the browser's i) is a new
// subject, not a step from the one shown; only enter on a reference in
// the inspector extends the trail (push).
func (m *Model) restart(f *frame) tea.Cmd {
	m.stack = nil
	return m.push(f)
}

// refuse turns down a request to inspect something else while a typed
// literal is unsaved, rather than drop the edit.
func (m *Model) refuse() tea.Cmd {
	m.status = "commit (enter) or cancel (esc) the literal being typed first"
	return nil
}

func (m *Model) pop() {
	if len(m.stack) > 1 {
		m.stack = m.stack[:len(m.stack)-1]
	}
}

func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case common.InspectMsg:
		if f := m.top(); f != nil && f.oid == msg.OID && len(m.stack) == 1 {
			return m, m.load(msg.OID)
		}
		if m.Dirty() {
			return m, m.refuse()
		}
		return m, m.restart(&frame{oid: msg.OID})
	case common.InspectValueMsg:
		if m.Dirty() {
			return m, m.refuse()
		}
		if r := msg.Value.Object; r != nil {
			return m, m.restart(&frame{oid: r.OID})
		}
		return m, m.restart(valueFrame(msg.Value, ""))
	case common.RefreshMsg:
		return m, m.reload(func(*frame) bool { return true })
	case objectMsg:
		for _, f := range m.stack {
			if f.oid != msg.oid {
				continue
			}
			if msg.err != nil {
				m.status = common.Sanitize(msg.err.Error())
				continue
			}
			sel := ""
			if f.cursor < len(f.items) {
				sel = f.items[f.cursor].slot.Name
			}
			f.view, f.loaded = msg.view, true
			f.items = f.items[:0]
			for _, s := range msg.view.Slots {
				f.items = append(f.items, item{slot: s})
			}
			for _, s := range msg.view.Inherited {
				f.items = append(f.items, item{slot: s, inherited: true})
			}
			f.cursor = 0
			for i, it := range f.items {
				if it.slot.Name == sel && !it.inherited {
					f.cursor = i
				}
			}
			m.scroll(f)
		}
		return m, nil
	case setMsg:
		if msg.err != nil {
			m.editErr = msg.err // keep the literal: fix it and press enter again
			return m, nil
		}
		m.editing, m.editErr = false, nil
		m.input.Blur()
		m.status = fmt.Sprintf("set %s (tx %d)", msg.slot, msg.tx)
		text := m.status
		return m, tea.Batch(m.load(msg.oid), func() tea.Msg { return common.InfoMsg{Text: text} })
	case common.EventMsg:
		if msg.Event.Type != api.EventCommit || msg.Event.Tx == nil {
			return m, nil
		}
		changed := map[uint64]bool{}
		for _, r := range msg.Event.Tx.Changed {
			changed[r.OID] = true
		}
		return m, m.reload(func(f *frame) bool {
			touched := changed[f.oid]
			for _, it := range f.items {
				touched = touched || (it.inherited && changed[it.slot.Holder.OID])
			}
			return touched
		})
	case tea.PasteMsg:
		if m.editing {
			m.editSel.Before(&m.input, msg)
			var cmd tea.Cmd
			m.input, cmd = m.input.Update(msg)
			return m, cmd
		}
	case tea.MouseClickMsg:
		if f := m.top(); f != nil && !m.editing && msg.Button == tea.MouseLeft {
			if i := f.off + msg.Y - 2; msg.Y >= 2 && i < len(f.items) {
				f.cursor = i
			}
		}
	case tea.MouseWheelMsg:
		if f := m.top(); f != nil {
			switch msg.Button {
			case tea.MouseWheelDown:
				f.off = max(0, min(f.off+3, len(f.items)-m.listHeight()))
			case tea.MouseWheelUp:
				f.off = max(0, f.off-3)
			}
		}
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	f := m.top()
	if f == nil {
		return nil
	}
	k := m.keys
	if m.editing {
		switch {
		case key.Matches(msg, k.Cancel):
			m.editSel.End(&m.input)
			m.editing, m.editErr = false, nil
			m.input.Blur()
			return nil
		case key.Matches(msg, k.Commit):
			m.editSel.End(&m.input)
			// What was typed is data, read without evaluating it: a
			// refusal stays here, the cursor on the column it names.
			text := m.input.Value()
			v, err := api.ParseLiteral(text)
			if err != nil {
				m.editErr = err
				if pos, ok := pane.CursorAt(text, err); ok {
					m.input.SetCursor(pos)
				}
				return nil
			}
			oid, slot := f.oid, m.editSlot
			img := m.c.Image
			return func() tea.Msg {
				ctx, cancel := pane.Ctx()
				defer cancel()
				tx, err := img.SetSlot(ctx, oid, slot, v)
				return setMsg{oid: oid, slot: slot, tx: tx.ID, err: err}
			}
		}
		if m.editSel.Before(&m.input, msg) {
			return nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	}
	m.status = ""
	if c, ok := pane.Navigate(msg, pane.ListKeys{Down: k.Down, Up: k.Up, Top: k.Top, Bottom: k.Bottom}, f.cursor, len(f.items)); ok {
		f.cursor = c
	}
	switch {
	case key.Matches(msg, k.Back):
		m.pop()
	case key.Matches(msg, k.Open):
		it, ok := m.selected()
		switch {
		case ok && it.slot.Target() != nil:
			return m.push(&frame{oid: it.slot.Target().OID})
		case ok && container(it.slot.Value):
			return m.push(valueFrame(*it.slot.Value, it.slot.Name))
		}
		m.status = "not a reference or a container: nothing to drill into"
	case key.Matches(msg, k.Full):
		// Rows are cut to the pane; the pager shows all of a value.
		if it, ok := m.selected(); ok {
			text := it.slot.Source
			if v := it.slot.Value; v != nil {
				text = v.Text
			}
			return common.Pager(f.title()+" › "+it.slot.Name, text)
		}
		if f != nil && f.oid == 0 {
			return common.Pager(f.title(), f.value.Text)
		}
		return nil
	case key.Matches(msg, k.Browse):
		it, ok := m.selected()
		switch {
		case ok && (it.slot.Kind == api.KindMethod || it.slot.Kind == api.KindPrimitive):
			return m.c.Navigate(common.BrowseMsg{OID: it.slot.Holder.OID, Selector: it.slot.Name})
		case f.oid != 0:
			return m.c.Navigate(common.BrowseMsg{OID: f.oid})
		case ok && it.slot.Target() != nil:
			return m.c.Navigate(common.BrowseMsg{OID: it.slot.Target().OID})
		}
	case key.Matches(msg, k.Edit):
		it, ok := m.selected()
		switch {
		case !ok:
		case f.oid == 0:
			m.status = "a value is not stored anywhere: set the slot that holds it"
		case it.inherited:
			m.status = fmt.Sprintf("%s is inherited from %s: inspect that object to change it", it.slot.Name, it.slot.Holder.Name)
		case it.slot.Kind != api.KindData:
			m.status = "only data slots take a literal; methods are edited in the browser (b)"
		default:
			// The value as the literal that reads back to it (a
			// reference as ObjectAt(id)); empty when none writes it.
			m.editing, m.editSlot, m.editErr = true, it.slot.Name, nil
			lit, _ := pane.LiteralOf(it.slot.Value)
			m.input.SetValue(lit)
			m.input.CursorEnd()
			m.editOrig = m.input.Value()
			cmd := m.input.Focus()
			m.editSel.Start(&m.input, m.c.Styles.Selected)
			return cmd
		}
	}
	m.scroll(f)
	return nil
}

func (m *Model) selected() (item, bool) {
	f := m.top()
	if f == nil || f.cursor >= len(f.items) {
		return item{}, false
	}
	return f.items[f.cursor], true
}

// listHeight is the rows left for slots: the breadcrumb, the column
// header and the footer take three.
func (m *Model) listHeight() int { return max(m.height-3, 1) }

func (m *Model) scroll(f *frame) {
	f.off = pane.Scroll(f.cursor, f.off, m.listHeight(), len(f.items))
}

// View renders the top frame.
func (m *Model) View() string {
	st := m.c.Styles
	f := m.top()
	if f == nil {
		return strings.Join(pane.Block([]string{st.Dim.Render(" nothing inspected: i in the browser, or inspect it in the workspace")}, m.width, m.height), "\n")
	}
	var crumbs []string
	for _, fr := range m.stack {
		crumbs = append(crumbs, fr.title())
	}
	lines := []string{st.Title.Render(pane.Fit(" "+strings.Join(crumbs, " › "), m.width))}
	if f.oid == 0 && !container(&f.value) {
		about := " a value"
		if f.value.Type != "" {
			about += " of type " + f.value.Type
		}
		lines = append(lines, st.Dim.Render(about))
		for _, l := range strings.Split(f.value.Text, "\n") {
			lines = append(lines, " "+l)
		}
		out := pane.Block(lines, m.width, m.height-1)
		return strings.Join(append(out, pane.Fit(m.footer(), m.width)), "\n")
	}
	nameW, typeW := 18, 12
	for _, it := range f.items {
		nameW = max(nameW, min(ansi.StringWidth(it.slot.Name)+2, 28))
	}
	first := "slot"
	switch f.value.Kind {
	case api.ValueList:
		first = "index"
	case api.ValueMap:
		first = "key"
	}
	lines = append(lines, st.Dim.Render(pane.Fit(" "+pane.Fit(first, nameW)+pane.Fit("type", typeW)+"value", m.width)))
	if !f.loaded {
		lines = append(lines, st.Dim.Render(" loading…"))
	}
	end := min(f.off+m.listHeight(), len(f.items))
	for i := f.off; i < end; i++ {
		it := f.items[i]
		var typ, val string
		if v := it.slot.Value; v != nil {
			typ, val = v.Type, v.Text
		}
		switch it.slot.Kind {
		case api.KindMethod:
			typ, val = "method", pane.FirstLine(it.slot.Source)
		case api.KindPrimitive:
			typ, val = "primitive", it.slot.Source
		case api.KindParent:
			typ = "parent"
		}
		if t := it.slot.Target(); t != nil {
			val = "→ " + t.Name
		}
		// Rows are one line: a multi-line value shows its first line.
		val = pane.OneLine(val)
		if m.editing && i == f.cursor {
			val = m.input.View()
		}
		text := pane.Fit(it.slot.Name, nameW) + pane.Fit(typ, typeW) + val
		switch {
		case i == f.cursor:
			row := pane.Fit("›"+text, m.width)
			if !m.editing {
				row = pane.Fit("›"+ansi.Strip(text), m.width)
			}
			if m.focus && !m.editing {
				row = st.Selected.Render(row)
			} else {
				row = lipgloss.NewStyle().Bold(true).Render(row)
			}
			lines = append(lines, row)
			if m.editing && m.editErr != nil {
				lines = append(lines, st.Error.Render(pane.Fit("   ✗ "+common.Sanitize(m.editErr.Error()), m.width)))
			}
		case it.inherited:
			lines = append(lines, st.Dim.Render(pane.Fit(" "+text+"  ("+it.slot.Holder.Name+")", m.width)))
		default:
			lines = append(lines, pane.Fit(" "+text, m.width))
		}
	}
	if f.oid == 0 && f.value.Truncated && end == len(f.items) {
		lines = append(lines, st.Dim.Render(" … more than the image sends whole"))
	}
	out := pane.Block(lines, m.width, m.height-1)
	return strings.Join(append(out, pane.Fit(m.footer(), m.width)), "\n")
}

func (m *Model) footer() string {
	st := m.c.Styles
	switch {
	case m.editing:
		return st.Title.Render(m.editSlot+" = ") + st.Dim.Render("Go literal · enter commits · esc cancels")
	case m.status != "":
		return st.Info.Render(m.status)
	}
	return st.Dim.Render(fmt.Sprintf("depth %d · enter drill in · backspace back · e edit · b browse", len(m.stack)))
}
