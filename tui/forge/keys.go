package forge

import "charm.land/bubbles/v2/key"

// KeyMap is the Forge pane's key bindings.
type KeyMap struct {
	Up, Down, Top, Bottom   key.Binding
	Inspect, Browse, Reload key.Binding
	Cancel, New             key.Binding
	// Accept and Dismiss answer the prompt (queue, give up) and the
	// question (yes, no).
	Accept, Dismiss key.Binding
}

// DefaultKeyMap returns the Forge pane's default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:      key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:    key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		Top:     key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "newest")),
		Bottom:  key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "oldest")),
		Inspect: key.NewBinding(key.WithKeys("enter", "i"), key.WithHelp("enter", "inspect job")),
		Browse:  key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "browse job")),
		Reload:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload")),
		Cancel:  key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel job")),
		New:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new fine-tune")),
		Accept:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "queue")),
		Dismiss: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "give up")),
	}
}

// ShortHelp is the help line's bindings.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Inspect, k.Cancel, k.New}
}

// FullHelp is the ? overlay's bindings.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Top, k.Bottom}, {k.Inspect, k.Browse, k.Reload}, {k.Cancel, k.New}}
}
