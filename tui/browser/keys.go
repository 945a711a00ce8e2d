package browser

import (
	"charm.land/bubbles/v2/key"

	"batos/tui/internal/pane"
)

// KeyMap is the browser's key bindings: its own, which act from any
// column, and one key map per sub-model, which that sub-model matches
// when the browser hands it a key (see doc.go for who gets which key).
type KeyMap struct {
	// NextColumn and PrevColumn move the focus between the columns.
	NextColumn, PrevColumn key.Binding
	// Edit edits the selected slot: a method in the editor, a data
	// slot's value in a literal prompt.
	Edit key.Binding
	// Inspect opens the selected object (in the slots and source
	// columns, the selected slot's target) in the inspector.
	Inspect key.Binding
	// Senders and Implementors list the senders and the implementors of
	// the selected method's selector (see SendersMsg).
	Senders, Implementors key.Binding
	// Full shows the selected slot's value or source in full, in the
	// app's pager: the slot list cuts values to its column.
	Full key.Binding

	Tree   TreeKeyMap
	Slots  SlotKeyMap
	Source SourceKeyMap
	Hits   HitKeyMap
}

// TreeKeyMap is the object tree's keys.
type TreeKeyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding
	// Expand opens the row (loading its children), or shows a list's
	// older members on a "… N more" row; on a row with nothing more to
	// open it moves on to the slots. Collapse closes the row, or goes
	// to its parent row.
	Expand, Collapse key.Binding
}

// SlotKeyMap is the slot list's keys.
type SlotKeyMap struct {
	Up, Down, Top, Bottom key.Binding
	// Open browses the selected reference's target, or edits the slot.
	Open key.Binding
	// Expand moves on to the source column, Collapse back to the tree.
	Expand, Collapse key.Binding
	// The slot operations act from any column.
	Add, Rename, Remove, Clone key.Binding
	// Prompt and Confirm are the keys of the operations' one-line
	// prompt and of the remove question.
	Prompt  pane.PromptKeys
	Confirm pane.ConfirmKeys
}

// SourceKeyMap is the source editor's keys.
type SourceKeyMap struct {
	// Up, Down and Top scroll the source shown.
	Up, Down, Top key.Binding
	// Open edits the slot shown; Collapse and Cancel go back to the
	// slots.
	Open, Collapse key.Binding
	// Accept defines the edited method; Cancel closes the editor,
	// asking first (Confirm) when it holds a change.
	Accept, Cancel key.Binding
	Confirm        pane.ConfirmKeys
}

// HitKeyMap is the keys of a senders or implementors list.
type HitKeyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding
	// Open browses the hit's object with its method selected; Close
	// closes the list.
	Open, Close key.Binding
	// Senders and Implementors list those of the hit's selector in
	// turn; Inspect inspects the hit's object.
	Senders, Implementors, Inspect key.Binding
}

// DefaultKeyMap returns the browser's default key bindings.
func DefaultKeyMap() KeyMap {
	var (
		up       = key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up"))
		down     = key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down"))
		top      = key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top"))
		bottom   = key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom"))
		pageUp   = key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up"))
		pageDown = key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down"))
		cancel   = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))
		inspect  = key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "inspect"))
		senders  = key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "senders of the method"))
		implors  = key.NewBinding(key.WithKeys("I"), key.WithHelp("I", "implementors of the method"))
	)
	return KeyMap{
		NextColumn:   key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "next column")),
		PrevColumn:   key.NewBinding(key.WithKeys("["), key.WithHelp("[", "previous column")),
		Edit:         key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Inspect:      inspect,
		Senders:      senders,
		Implementors: implors,
		Full:         key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "value in full")),
		Tree: TreeKeyMap{
			Up: up, Down: down, Top: top, Bottom: bottom, PageUp: pageUp, PageDown: pageDown,
			Expand:   key.NewBinding(key.WithKeys("enter", "l", "right"), key.WithHelp("enter/l", "expand · open")),
			Collapse: key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("h", "collapse · back")),
		},
		Slots: SlotKeyMap{
			Up: up, Down: down, Top: top, Bottom: bottom,
			Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "browse · edit")),
			Expand:   key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("l", "source")),
			Collapse: key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("h", "back to the tree")),
			Add:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add slot")),
			Rename:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rename slot")),
			Remove:   key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "remove slot")),
			Clone:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clone object")),
			Prompt:   pane.DefaultPromptKeys(),
			Confirm:  pane.DefaultConfirmKeys(),
		},
		Source: SourceKeyMap{
			Up: up, Down: down, Top: top,
			Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "edit")),
			Collapse: key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("h", "back to the slots")),
			Accept:   key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "accept")),
			Cancel:   cancel,
			Confirm:  pane.DefaultConfirmKeys(),
		},
		Hits: HitKeyMap{
			Up: up, Down: down, Top: top, Bottom: bottom, PageUp: pageUp, PageDown: pageDown,
			Open:         key.NewBinding(key.WithKeys("enter", "l", "right"), key.WithHelp("enter", "open")),
			Close:        key.NewBinding(key.WithKeys("esc", "h", "left"), key.WithHelp("esc", "close the list")),
			Senders:      senders,
			Implementors: implors,
			Inspect:      inspect,
		},
	}
}
