package browser

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/internal/pane"
)

// The slot list's operations: add (a), rename (r), remove (d, confirmed)
// and clone (c) act from any column; e on a data slot sets its value.
// Each asks on the pane's last line, through one prompt or the remove
// question, which take every key while open.

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

// operate handles the operation keys, which the browser passes from any
// column; handled is false for any other key.
func (s *slotList) operate(msg tea.KeyPressMsg) (cmd tea.Cmd, handled bool) {
	k := s.keys
	switch {
	case key.Matches(msg, k.Add):
		return s.ask(promptAddName, "", ""), true
	case key.Matches(msg, k.Clone):
		return s.ask(promptClone, "", ""), true
	case key.Matches(msg, k.Rename):
		if e, ok := s.ownSlot(); ok {
			return s.ask(promptRename, e.slot.Name, ""), true
		}
		return nil, true
	case key.Matches(msg, k.Remove):
		if e, ok := s.ownSlot(); ok {
			s.confirm.Keys = s.keys.Confirm
			s.confirm.Ask(fmt.Sprintf("remove slot %s from %s?", e.slot.Name, s.obj.Name), s.remove)
		}
		return nil, true
	}
	return nil, false
}

// ownSlot returns the selected slot when it is the object's own, and
// says why not otherwise.
func (s *slotList) ownSlot() (entry, bool) {
	e, ok := s.selectedSlot()
	if !ok {
		s.report.set("no slot selected", true)
		return e, false
	}
	if e.inherited {
		s.report.set(fmt.Sprintf("%s is inherited from %s: change it there", e.slot.Name, e.slot.Holder.Name), true)
		return e, false
	}
	return e, true
}

// edit edits the selected slot: a method in the editor (on the object
// that holds it: a methodReq), a data slot through a literal prompt that
// starts with the value written as a literal (a reference as
// ObjectAt(id)), or empty when no literal writes it.
func (s *slotList) edit() (tea.Cmd, request) {
	e, ok := s.selectedSlot()
	if !ok {
		return nil, nil
	}
	switch e.slot.Kind {
	case api.KindMethod:
		return nil, methodReq{oid: e.slot.Holder.OID, holder: e.slot.Holder.Name, selector: e.slot.Name, src: e.slot.Source}
	case api.KindData:
		if e.inherited {
			s.report.set(fmt.Sprintf("%s is inherited from %s: change it there", e.slot.Name, e.slot.Holder.Name), true)
			return nil, nil
		}
		lit, ok := pane.LiteralOf(e.slot.Value)
		if !ok {
			return s.ask(promptLiteral, "", "a Go literal (the value is not one)"), nil
		}
		return s.ask(promptLiteral, lit, ""), nil
	case api.KindPrimitive:
		s.report.set(e.slot.Name+" is a primitive, Go-native: it has no source to edit", false)
	}
	return nil, nil
}

// --- the prompt and the question ---------------------------------------------

// asking reports whether the prompt or the question is open.
func (s *slotList) asking() bool { return s.prompt != promptNone || s.confirm.Asking() }

// promptDirty reports whether the prompt holds text typed since it opened.
func (s *slotList) promptDirty() bool {
	return s.prompt != promptNone && s.input.Value() != s.promptOrig
}

func (s *slotList) setPromptWidth(w int) { s.input.SetWidth(max(w, 10)) }

// ask opens the prompt.
func (s *slotList) ask(kind promptKind, value, placeholder string) tea.Cmd {
	s.prompt, s.promptErr = kind, nil
	s.input.SetValue(value)
	s.promptOrig = s.input.Value()
	s.input.Placeholder = placeholder
	s.input.CursorEnd()
	cmd := s.input.Focus()
	s.promptSel.Start(&s.input, s.c.Styles.Selected)
	return cmd
}

// closePrompt closes the prompt and the question without acting.
func (s *slotList) closePrompt() {
	s.prompt, s.promptErr = promptNone, nil
	s.confirm.Cancel()
	s.input.Blur()
}

func (s *slotList) promptLabel() string {
	switch s.prompt {
	case promptAddName:
		return fmt.Sprintf("new slot on %s, name: ", s.obj.Name)
	case promptAddValue:
		return s.addName + " = Go literal, or func source (empty: a method): "
	case promptRename:
		return "rename to: "
	case promptClone:
		return fmt.Sprintf("clone %s into Lobby slot: ", s.obj.Name)
	case promptLiteral:
		e, _ := s.selectedSlot()
		return e.slot.Name + " = "
	}
	return ""
}

// footer renders the question or the prompt, for the last line.
func (s *slotList) footer() string {
	st := s.c.Styles
	if s.confirm.Asking() {
		return st.Error.Render(s.confirm.Question())
	}
	return st.Title.Render(s.promptLabel()) + s.input.View()
}

// refusal is why the literal typed in the open prompt was refused, nil
// when it was not.
func (s *slotList) refusal() error {
	if s.prompt == promptNone {
		return nil
	}
	return s.promptErr
}

func (s *slotList) promptKey(msg tea.KeyPressMsg) (tea.Cmd, request) {
	switch {
	case key.Matches(msg, s.keys.Prompt.Dismiss):
		s.promptSel.End(&s.input)
		s.prompt, s.promptErr = promptNone, nil
		s.input.Blur()
		return nil, nil
	case key.Matches(msg, s.keys.Prompt.Accept):
		s.promptSel.End(&s.input)
	default:
		if s.promptSel.Before(&s.input, msg) {
			return nil, nil
		}
		var cmd tea.Cmd
		s.input, cmd = s.input.Update(msg)
		return cmd, nil
	}
	val := strings.TrimSpace(s.input.Value())
	kind := s.prompt
	if kind == promptLiteral || kind == promptAddValue && val != "" && !strings.HasPrefix(val, "func") {
		return s.literalEntered(kind), nil
	}
	s.prompt = promptNone
	s.input.Blur()
	oid, img := s.objOID, s.c.Image
	switch kind {
	case promptAddName:
		if val == "" {
			return nil, nil
		}
		s.addName = val
		return s.ask(promptAddValue, "", ""), nil
	case promptAddValue:
		name := s.addName
		if val == "" {
			return nil, methodReq{oid: oid, holder: s.obj.Name, selector: name, src: fmt.Sprintf("func %s(self Object) any {\n\treturn nil\n}", name)}
		}
		// func source: a literal went to literalEntered.
		return changeCmd(img, "defined "+name, oid, name, false, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			return img.Define(ctx, oid, name, val)
		}), nil
	case promptRename:
		e, ok := s.selectedSlot()
		if !ok || val == "" || val == e.slot.Name {
			return nil, nil
		}
		from := e.slot.Name
		return changeCmd(img, "renamed "+from+" to "+val, oid, val, false, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			return img.RenameSlot(ctx, oid, from, val)
		}), nil
	case promptClone:
		if val == "" {
			return nil, nil
		}
		return changeCmd(img, "cloned "+s.obj.Name+" into Lobby."+val, lobbyOID, "", false, func(img api.Image) (api.Tx, error) {
			ctx, cancel := pane.Ctx()
			defer cancel()
			_, err := img.Clone(ctx, oid, lobbyOID, val)
			return api.Tx{}, err
		}), nil
	}
	return nil, nil
}

// literalEntered sets a slot to the literal the prompt holds, read with
// api.ParseLiteral: nothing typed is evaluated. A refusal keeps the prompt
// open with its text, the cursor on the column it names, and the error
// over it; nothing is set.
func (s *slotList) literalEntered(kind promptKind) tea.Cmd {
	text := s.input.Value()
	v, err := api.ParseLiteral(text)
	if err != nil {
		s.promptErr = err
		if pos, ok := pane.CursorAt(text, err); ok {
			s.input.SetCursor(pos)
		}
		return nil
	}
	slot, what := s.addName, "added "+s.addName
	if kind == promptLiteral {
		e, ok := s.selectedSlot()
		if !ok {
			s.prompt, s.promptErr = promptNone, nil
			s.input.Blur()
			return nil
		}
		slot, what = e.slot.Name, "set "+e.slot.Name
	}
	s.prompt, s.promptErr = promptNone, nil
	s.input.Blur()
	oid := s.objOID
	return changeCmd(s.c.Image, what, oid, slot, false, func(img api.Image) (api.Tx, error) {
		ctx, cancel := pane.Ctx()
		defer cancel()
		return img.SetSlot(ctx, oid, slot, v)
	})
}

// remove removes the selected slot: the remove question's yes.
func (s *slotList) remove() tea.Cmd {
	e, ok := s.selectedSlot()
	if !ok {
		return nil
	}
	oid, name := s.objOID, e.slot.Name
	return changeCmd(s.c.Image, "removed "+name, oid, "", false, func(img api.Image) (api.Tx, error) {
		ctx, cancel := pane.Ctx()
		defer cancel()
		return img.RemoveSlot(ctx, oid, name)
	})
}
