package browser

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// objectMsg answers loadObject.
type objectMsg struct {
	oid  uint64
	view api.ObjectView
	err  error
}

// entry is one row of the slots column: a group header or a slot.
type entry struct {
	header    string
	slot      api.SlotView
	inherited bool
}

func (e entry) isSlot() bool { return e.header == "" }

// selection is what the slot list has selected, which the source column
// shows.
type selection struct {
	obj    api.ObjectView
	loaded bool
	slot   entry
	ok     bool // a slot is selected
}

// slotList is the browser's second column: the selected object's
// api.ObjectView, its slots grouped by kind with the inherited ones
// apart, and the slot cursor, which stays near its place when the object
// reloads without the slot it was on. It owns the slot operations (add,
// rename, remove, clone, set a value) and their prompt and question on
// the pane's last line (slotops.go).
type slotList struct {
	c      *common.Common
	keys   SlotKeyMap
	report *statusLine
	width  int
	height int // the header row included

	// The selected object and its slots.
	objOID     uint64
	obj        api.ObjectView
	objLoaded  bool
	entries    []entry
	slotCursor int
	slotOff    int
	pendingSel string // select this slot when the object arrives

	// The operations' prompt and question (slotops.go).
	input      textinput.Model
	prompt     promptKind
	promptOrig string         // the prompt's text when it opened
	promptSel  pane.SelectAll // the old value a prompt opened on, selected: typing replaces it
	promptErr  error          // why the literal typed was refused; shown over the prompt
	addName    string
	confirm    pane.Confirm // the remove question
}

func newSlotList(c *common.Common, keys SlotKeyMap, report *statusLine) *slotList {
	ti := textinput.New()
	st := ti.Styles()
	st.Cursor.Blink = false
	ti.SetStyles(st)
	return &slotList{c: c, keys: keys, report: report, input: ti, objOID: lobbyOID}
}

// SetSize sizes the column. (The cursor is kept in view by the next key
// that moves it, not here.)
func (s *slotList) SetSize(width, height int) {
	s.width, s.height = width, height
}

// Focus focuses the prompt, when one is open.
func (s *slotList) Focus() tea.Cmd {
	if s.prompt != promptNone {
		return s.input.Focus()
	}
	return nil
}

func (s *slotList) Blur() { s.input.Blur() }

// Update handles the object's view arriving, a paste into the prompt,
// and keys: the prompt's or the question's while one is open, else the
// column's (the browser sends those only while the column has the
// focus).
func (s *slotList) Update(msg tea.Msg) (tea.Cmd, request) {
	switch msg := msg.(type) {
	case objectMsg:
		return nil, s.loaded(msg)
	case tea.PasteMsg:
		if s.prompt != promptNone {
			s.promptSel.Before(&s.input, msg)
			var cmd tea.Cmd
			s.input, cmd = s.input.Update(msg)
			return cmd, nil
		}
	case tea.KeyPressMsg:
		switch {
		case s.confirm.Asking():
			cmd, _ := s.confirm.Update(msg)
			return cmd, nil
		case s.prompt != promptNone:
			return s.promptKey(msg)
		}
		return s.key(msg)
	}
	return nil, nil
}

// key handles a key in the column. Any key but Open shows the source
// from its top: the slot it shows may have changed.
func (s *slotList) key(msg tea.KeyPressMsg) (tea.Cmd, request) {
	k := s.keys
	focus := colSlots
	switch {
	case key.Matches(msg, k.Down):
		s.slotCursor = s.nextSlot(s.slotCursor, 1)
	case key.Matches(msg, k.Up):
		s.slotCursor = s.nextSlot(s.slotCursor, -1)
	case key.Matches(msg, k.Top):
		s.slotCursor = s.nextSlot(-1, 1)
	case key.Matches(msg, k.Bottom):
		s.slotCursor = s.nextSlot(len(s.entries), -1)
	case key.Matches(msg, k.Collapse):
		focus = colTree
	case key.Matches(msg, k.Open):
		e, ok := s.selectedSlot()
		if ok && e.slot.Target() != nil && e.slot.Kind != api.KindMethod {
			return nil, browseReq{oid: e.slot.Target().OID}
		}
		return s.edit()
	case key.Matches(msg, k.Expand):
		focus = colSource
	}
	s.scrollSlots()
	return nil, focusReq{col: focus, fromTop: true}
}

// --- the object -------------------------------------------------------------

func (s *slotList) loadObject(oid uint64) tea.Cmd {
	img := s.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		v, err := img.Object(ctx, oid)
		return objectMsg{oid: oid, view: common.SanitizeObject(v), err: err}
	}
}

// load (re)loads the selected object.
func (s *slotList) load() tea.Cmd { return s.loadObject(s.objOID) }

// reload reloads the selected object, selecting slot (when not "") once
// it arrives.
func (s *slotList) reload(slot string) tea.Cmd {
	if slot != "" {
		s.pendingSel = slot
	}
	return s.load()
}

// touched reports whether changed holds the selected object or one its
// inherited slots come from.
func (s *slotList) touched(changed map[uint64]bool) bool {
	reload := changed[s.objOID]
	for _, sv := range s.obj.Inherited {
		reload = reload || changed[sv.Holder.OID]
	}
	return reload
}

// show makes oid the selected object, with slot selected once it
// arrives, and loads it.
func (s *slotList) show(oid uint64, slot string) tea.Cmd {
	if oid != s.objOID {
		s.objOID, s.objLoaded = oid, false
		s.entries, s.slotCursor, s.slotOff = nil, 0, 0
	}
	s.pendingSel = slot
	return s.load()
}

// loaded takes the selected object's view: the cursor stays on its slot,
// or near where it was when the slot is gone, or goes to the slot asked
// for; that one is shown in the source column (a focusReq).
func (s *slotList) loaded(msg objectMsg) request {
	if msg.oid != s.objOID {
		return nil // the selection moved on
	}
	if msg.err != nil {
		s.report.set(msg.err.Error(), true)
		return nil
	}
	keep, near := s.pendingSel, -1
	if keep == "" {
		if e, ok := s.selectedSlot(); ok {
			keep, near = e.slot.Name, s.slotCursor
		}
	}
	s.obj, s.objLoaded = msg.view, true
	s.group()
	s.selectSlotNear(keep, near)
	if s.pendingSel != "" {
		s.pendingSel = ""
		return focusReq{col: colSource, fromTop: true}
	}
	return nil
}

// --- the entries ------------------------------------------------------------

var kindOrder = []struct{ kind, title string }{
	{api.KindParent, "parents"},
	{api.KindData, "data"},
	{api.KindMethod, "methods"},
	{api.KindPrimitive, "primitives"},
}

// group lays out the object's slots: own slots by kind, then the inherited
// ones by holder, each holder's by kind.
func (s *slotList) group() {
	var es []entry
	for _, k := range kindOrder {
		first := true
		for _, sv := range s.obj.Slots {
			if sv.Kind != k.kind {
				continue
			}
			if first {
				es = append(es, entry{header: k.title})
				first = false
			}
			es = append(es, entry{slot: sv})
		}
	}
	var holders []api.Ref
	byHolder := map[uint64][]api.SlotView{}
	for _, sv := range s.obj.Inherited {
		if _, ok := byHolder[sv.Holder.OID]; !ok {
			holders = append(holders, sv.Holder)
		}
		byHolder[sv.Holder.OID] = append(byHolder[sv.Holder.OID], sv)
	}
	for _, h := range holders {
		es = append(es, entry{header: "inherited from " + h.Name})
		for _, k := range kindOrder {
			for _, sv := range byHolder[h.OID] {
				if sv.Kind == k.kind {
					es = append(es, entry{slot: sv, inherited: true})
				}
			}
		}
	}
	s.entries = es
}

// selectSlot puts the slot cursor on the named slot (own before inherited),
// or on the first slot.
func (s *slotList) selectSlot(name string) {
	s.slotCursor = -1
	for i, e := range s.entries {
		if e.isSlot() && (e.slot.Name == name || (name == "" && s.slotCursor < 0)) {
			s.slotCursor = i
			if name != "" {
				break
			}
		}
	}
	if s.slotCursor < 0 {
		s.slotCursor = s.nextSlot(-1, 1)
	}
	s.scrollSlots()
}

// selectSlotNear puts the slot cursor on the named slot; when it is gone
// (removed, renamed) and near, where the cursor was, is known, on the slot
// now at that index, or the one before it when the gone slot was the last
// of its group (or of all), rather than back on the first slot.
func (s *slotList) selectSlotNear(name string, near int) {
	if near < 0 || len(s.entries) == 0 {
		s.selectSlot(name)
		return
	}
	for _, e := range s.entries {
		if e.isSlot() && e.slot.Name == name {
			s.selectSlot(name)
			return
		}
	}
	i := min(near, len(s.entries)-1)
	if !s.entries[i].isSlot() {
		i = s.nextSlot(i, -1)
	}
	if !s.entries[i].isSlot() {
		i = s.nextSlot(i, 1)
	}
	s.slotCursor = i
	s.scrollSlots()
}

// nextSlot returns the slot entry after (dir 1) or before (dir -1) i, or i
// when there is none.
func (s *slotList) nextSlot(i, dir int) int {
	for j := i + dir; j >= 0 && j < len(s.entries); j += dir {
		if s.entries[j].isSlot() {
			return j
		}
	}
	if i < 0 {
		return 0
	}
	return i
}

func (s *slotList) scrollSlots() {
	s.slotOff = pane.Scroll(s.slotCursor, s.slotOff, s.height-1, len(s.entries))
}

func (s *slotList) selectedSlot() (entry, bool) {
	if s.slotCursor >= 0 && s.slotCursor < len(s.entries) && s.entries[s.slotCursor].isSlot() {
		return s.entries[s.slotCursor], true
	}
	return entry{}, false
}

func (s *slotList) selection() selection {
	e, ok := s.selectedSlot()
	return selection{obj: s.obj, loaded: s.objLoaded, slot: e, ok: ok}
}

// selector returns the selected method's (or primitive's) selector, for
// its senders and implementors; when there is none it says why.
func (s *slotList) selector() (string, bool) {
	e, ok := s.selectedSlot()
	if !ok {
		s.report.set("no slot selected", true)
		return "", false
	}
	if e.slot.Kind != api.KindMethod && e.slot.Kind != api.KindPrimitive {
		s.report.set(fmt.Sprintf("%s is a %s slot: senders and implementors are a method's", e.slot.Name, e.slot.Kind), true)
		return "", false
	}
	return e.slot.Name, true
}

// --- mouse ------------------------------------------------------------------

// click puts the cursor on the slot at y (0 is the header), reporting
// whether there was one.
func (s *slotList) click(y int) bool {
	if i := s.slotOff + y - 1; y > 0 && i < len(s.entries) && s.entries[i].isSlot() {
		s.slotCursor = i
		return true
	}
	return false
}

// wheel scrolls the entries by d, leaving the cursor.
func (s *slotList) wheel(d int) {
	s.slotOff = max(0, min(s.slotOff+d, len(s.entries)-(s.height-1)))
}

// --- view -------------------------------------------------------------------

// View renders the column: its header and the entries in the window.
func (s *slotList) View(focused bool) []string {
	st := s.c.Styles
	out := make([]string, 0, s.height)
	title := "Slots"
	if s.objLoaded {
		title = "Slots of " + s.obj.Name
	}
	out = append(out, header(st, title, focused, s.width))
	end := min(s.slotOff+s.height-1, len(s.entries))
	for i := s.slotOff; i < end; i++ {
		e := s.entries[i]
		if !e.isSlot() {
			out = append(out, st.Dim.Render(pane.Fit(" "+e.header, s.width)))
			continue
		}
		text := s.slotRow(e)
		if i == s.slotCursor {
			out = append(out, selectedRow(st, text, focused, s.width))
		} else {
			out = append(out, pane.Fit(" "+text, s.width))
		}
	}
	if !s.objLoaded {
		out = append(out, st.Dim.Render(" loading…"))
	}
	return pane.Block(out, s.width, s.height)
}

func (s *slotList) slotRow(e entry) string {
	st := s.c.Styles
	sv := e.slot
	var text string
	switch sv.Kind {
	case api.KindMethod:
		text = sv.Name + "()"
	case api.KindPrimitive:
		text = sv.Name + " ⚙"
	case api.KindParent:
		text = sv.Name + " → " + refName(sv.Target())
	default:
		if t := sv.Target(); t != nil {
			text = sv.Name + " → " + shortName(*t)
		} else {
			text = sv.Name + " = " + pane.OneLine(valueText(sv.Value)) // rows are one line
		}
	}
	if e.inherited {
		return "  " + st.Dim.Render(text+" ("+shortName(sv.Holder)+")")
	}
	ks, ok := st.Kind[sv.Kind]
	if !ok {
		return "  " + text
	}
	return "  " + ks.Render(text)
}
