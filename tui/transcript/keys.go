package transcript

import "charm.land/bubbles/v2/key"

// KeyMap is the transcript's key bindings.
type KeyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding
	Diff, Filter, Full                      key.Binding
}

// DefaultKeyMap returns the transcript's default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "oldest")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "newest (follow)")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdown", "page down")),
		Diff:     key.NewBinding(key.WithKeys("enter", "space"), key.WithHelp("enter", "show/hide method diffs")),
		Filter:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "filter: all/user/pLLM/other")),
		Full:     key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "view the entry in full")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Diff, k.Full, k.Filter, k.Bottom} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown}, {k.Diff, k.Full, k.Filter}}
}
