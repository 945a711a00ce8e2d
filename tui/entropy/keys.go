package entropy

import "charm.land/bubbles/v2/key"

// KeyMap is the Entropy pane's key bindings.
type KeyMap struct {
	// Measure measures now (Lobby.entropy's measure, no commit); Record
	// measures and appends the reading to the series (a commit).
	Measure, Record key.Binding
	// Inspect and Browse open Lobby.entropy, where the weights, window
	// and series are edited.
	Inspect, Browse key.Binding
}

// DefaultKeyMap returns the Entropy pane's default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Measure: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "measure")),
		Record:  key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "record")),
		Inspect: key.NewBinding(key.WithKeys("enter", "i"), key.WithHelp("enter", "inspect")),
		Browse:  key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "browse")),
	}
}

// ShortHelp is the help line's bindings.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Measure, k.Record, k.Inspect}
}

// FullHelp is the ? overlay's bindings.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Measure, k.Record}, {k.Inspect, k.Browse}}
}
