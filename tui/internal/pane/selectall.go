package pane

import (
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// SelectAll gives a one-line field that opens on an old value (a slot's
// literal, a slot's name) the select-all behaviour of a GUI rename or
// edit field (Pharo's inspector, Finder, a browser's address bar), which
// is what people expect when they press e on a value: the old value is
// shown selected (in the selection style), and
//
//   - the first key that types (a character, a paste) replaces it whole;
//   - backspace or delete clears it;
//   - any other key (←, →, home, end, ctrl+a, ctrl+e…) drops the
//     selection and acts on the old value, to edit it in place;
//   - enter accepts the old value unchanged, esc cancels.
//
// Appending to the old value, as a bare textinput does, was never wanted:
// "3" edited to "42" became "342".
type SelectAll struct {
	on    bool
	saved textinput.Styles
}

// Start selects in's whole value, shown in style; an empty value is not
// selected.
func (s *SelectAll) Start(in *textinput.Model, style lipgloss.Style) {
	s.End(in)
	if in.Value() == "" {
		return
	}
	s.on, s.saved = true, in.Styles()
	st := s.saved
	st.Focused.Text = style
	in.SetStyles(st)
}

// End drops the selection, keeping the value.
func (s *SelectAll) End(in *textinput.Model) {
	if !s.on {
		return
	}
	s.on = false
	in.SetStyles(s.saved)
}

// Selected reports whether the value is selected.
func (s *SelectAll) Selected() bool { return s.on }

// Before applies msg to the selection before in updates with it: a key
// that types, or a paste, clears the value (in then inserts what was
// typed); backspace or delete clears it and is consumed (consumed: do
// not pass msg on to in); any other key ends the selection. Call it
// only for the keys that reach the field (not for enter or esc).
func (s *SelectAll) Before(in *textinput.Model, msg tea.Msg) (consumed bool) {
	if !s.on {
		return false
	}
	switch msg := msg.(type) {
	case tea.PasteMsg:
		in.SetValue("")
	case tea.KeyPressMsg:
		switch {
		case msg.Code == tea.KeyBackspace || msg.Code == tea.KeyDelete:
			in.SetValue("")
			s.End(in)
			return true
		case msg.Text != "" && msg.Mod&^tea.ModShift == 0:
			in.SetValue("")
		}
	default:
		return false
	}
	s.End(in)
	return false
}
