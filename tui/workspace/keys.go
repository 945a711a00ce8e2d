package workspace

import "charm.land/bubbles/v2/key"

// KeyMap is the workspace's key bindings.
type KeyMap struct {
	DoIt, PrintIt, InspectIt key.Binding
	Cancel, Resume           key.Binding
	Complete                 key.Binding
	HistoryPrev, HistoryNext key.Binding
	Full                     key.Binding
	// Select only documents the text area's own selection keys.
	Select              key.Binding
	Clear               key.Binding
	Frames, BrowseFrame key.Binding
}

// DefaultKeyMap returns the workspace's default bindings. inspect it is
// ctrl+o: ctrl+i is the same byte as tab in most terminals, so ctrl+i is
// bound as well but only works where the terminal reports it apart. The
// last result in full is ctrl+r, which the text area leaves free, so that
// it works while typing. The keys added for the playground are ctrl keys
// that neither the text area (its ctrl+n is taken out: down moves a line)
// nor the app binds: ctrl+x clears, ctrl+n selects a frame of the last
// error's chain of sends (enter then browses its method). ctrl+l, the
// usual clear, is the app's; ctrl+k is the text area's kill-line; ctrl+b
// is tmux's prefix. Selection is the text area's: shift+arrows, ctrl+g
// all.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		DoIt:        key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "do it")),
		PrintIt:     key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("ctrl+p", "print it")),
		InspectIt:   key.NewBinding(key.WithKeys("ctrl+o", "ctrl+i"), key.WithHelp("ctrl+o", "inspect it")),
		Cancel:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel evaluation / stop typing")),
		Resume:      key.NewBinding(key.WithKeys("enter", "i"), key.WithHelp("enter/i", "type again")),
		Complete:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete selector, else next pane")),
		HistoryPrev: key.NewBinding(key.WithKeys("alt+up"), key.WithHelp("up/alt+up", "previous input")),
		HistoryNext: key.NewBinding(key.WithKeys("alt+down"), key.WithHelp("down/alt+down", "next input")),
		Full:        key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "result in full")),
		Select:      key.NewBinding(key.WithKeys("ctrl+g"), key.WithHelp("shift+arrows/ctrl+g", "select / all (the actions take it)")),
		Clear:       key.NewBinding(key.WithKeys("ctrl+x"), key.WithHelp("ctrl+x", "clear input and output")),
		Frames:      key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "select a frame of the error")),
		BrowseFrame: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "browse the frame's method")),
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
		{k.Select, k.Clear, k.Frames, k.BrowseFrame},
	}
}
