package browser

import "charm.land/bubbles/v2/key"

// KeyMap is the browser's key bindings.
type KeyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown  key.Binding
	Expand, Collapse, NextColumn, PrevColumn key.Binding
	Edit, Accept, Cancel                     key.Binding
	Add, Rename, Remove, Clone, Inspect      key.Binding
	// Senders and Implementors list the senders and the implementors of
	// the selected method's selector (see SendersMsg).
	Senders, Implementors key.Binding
}

// DefaultKeyMap returns the browser's default key bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:           key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:         key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		Top:          key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:       key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		PageUp:       key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown:     key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Expand:       key.NewBinding(key.WithKeys("enter", "l", "right"), key.WithHelp("enter/l", "expand · open")),
		Collapse:     key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("h", "collapse · back")),
		NextColumn:   key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "next column")),
		PrevColumn:   key.NewBinding(key.WithKeys("["), key.WithHelp("[", "previous column")),
		Edit:         key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Accept:       key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "accept")),
		Cancel:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Add:          key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add slot")),
		Rename:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rename slot")),
		Remove:       key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "remove slot")),
		Clone:        key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clone object")),
		Inspect:      key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "inspect")),
		Senders:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "senders of the method")),
		Implementors: key.NewBinding(key.WithKeys("I"), key.WithHelp("I", "implementors of the method")),
	}
}
