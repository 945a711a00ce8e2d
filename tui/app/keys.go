package app

import "charm.land/bubbles/v2/key"

// KeyMap is the app's global key bindings.
type KeyMap struct {
	NextPane, PrevPane key.Binding
	Help               key.Binding
	Command            key.Binding
	Search             key.Binding
	Zoom               key.Binding
	LastInfo           key.Binding
	Quit, ForceQuit    key.Binding
}

// DefaultKeyMap returns the global bindings. ?, :, /, +, q and tab yield
// to a pane that is editing text; f1, shift+tab, ctrl+l and ctrl+c always
// work. ctrl+l (the last message in full) is bound by no pane, nor by the
// text fields (textarea, textinput) the panes edit in: it must work while
// one is typing, since the message clears on the next key.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		NextPane:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevPane:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Help:      key.NewBinding(key.WithKeys("?", "f1"), key.WithHelp("?/f1", "this help")),
		Command:   key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command line")),
		Search:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search objects and selectors")),
		Zoom:      key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "zoom the pane / restore the layout")),
		LastInfo:  key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "last message/error in full")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit, even while editing")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextPane, k.Help, k.Command, k.Search, k.Quit}
}

// EditingHelp is the global part of the help line while the focused pane
// is editing text: only the keys that still work then.
func (k KeyMap) EditingHelp() []key.Binding {
	f1 := key.NewBinding(key.WithKeys("f1"), key.WithHelp("f1", "help"))
	prev := key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "prev pane"))
	quit := key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))
	return []key.Binding{f1, prev, quit}
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.NextPane, k.PrevPane, k.Help, k.Command}, {k.Search, k.Zoom, k.LastInfo, k.Quit, k.ForceQuit}}
}
