package workspace

import "charm.land/bubbles/v2/key"

// KeyMap is the workspace's key bindings.
type KeyMap struct {
	DoIt, PrintIt, InspectIt key.Binding
	Cancel, Resume           key.Binding
	Complete                 key.Binding
	HistoryPrev, HistoryNext key.Binding
	Full                     key.Binding
}

// DefaultKeyMap returns the workspace's default bindings. inspect it is
// ctrl+o: ctrl+i is the same byte as tab in most terminals, so ctrl+i is
// bound as well but only works where the terminal reports it apart. The
// last result in full is ctrl+r, which the text area leaves free, so that
// it works while typing.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		DoIt:        key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "do it")),
		PrintIt:     key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("ctrl+p", "print it")),
		InspectIt:   key.NewBinding(key.WithKeys("ctrl+o", "ctrl+i"), key.WithHelp("ctrl+o", "inspect it")),
		Cancel:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel evaluation / stop typing")),
		Resume:      key.NewBinding(key.WithKeys("enter", "i"), key.WithHelp("enter/i", "type again")),
		Complete:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete selector")),
		HistoryPrev: key.NewBinding(key.WithKeys("alt+up"), key.WithHelp("up/alt+up", "previous input")),
		HistoryNext: key.NewBinding(key.WithKeys("alt+down"), key.WithHelp("down/alt+down", "next input")),
		Full:        key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "result in full")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.DoIt, k.PrintIt, k.InspectIt, k.Cancel}
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.DoIt, k.PrintIt, k.InspectIt, k.Cancel, k.Resume},
		{k.Complete, k.HistoryPrev, k.HistoryNext, k.Full},
	}
}
