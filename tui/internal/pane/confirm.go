package pane

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// ConfirmKeys are a confirmation's keys. They are a key map like a
// pane's, so the ? help lists them while a question is asked, and an
// owner can remap them (the quit question also takes ctrl+c for yes and
// q for no).
type ConfirmKeys struct {
	Yes, No key.Binding
}

// DefaultConfirmKeys are y for yes, n or esc for no.
func DefaultConfirmKeys() ConfirmKeys {
	return ConfirmKeys{
		Yes: key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:  key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no (esc too)")),
	}
}

// Confirm is a y/n question that the app or a pane asks before it acts
// (quit with unsaved work, undo, revert, cancel a job, remove a slot).
// While it is asked it takes every key: its Yes key runs the action, its
// No key drops it, and any other key is swallowed, so that a key typed
// ahead cannot act on the pane behind the question. The zero value asks
// nothing; set Keys before the first Ask (DefaultConfirmKeys when unset).
type Confirm struct {
	Keys     ConfirmKeys
	question string
	yes      func() tea.Cmd
}

// Ask puts question to the user; the Yes key runs yes.
func (c *Confirm) Ask(question string, yes func() tea.Cmd) {
	if len(c.Keys.Yes.Keys()) == 0 {
		c.Keys = DefaultConfirmKeys()
	}
	c.question, c.yes = question, yes
}

// Asking reports whether a question is up.
func (c *Confirm) Asking() bool { return c.question != "" }

// Question is what is asked, with its keys ("remove w? y/n"); "" when
// nothing is.
func (c *Confirm) Question() string {
	if c.question == "" {
		return ""
	}
	return c.question + " " + c.Keys.Yes.Help().Key + "/" + c.Keys.No.Help().Key
}

// SetQuestion rewords the question asked, keeping its action (the quit
// question's reasons change while it waits).
func (c *Confirm) SetQuestion(question string) {
	if c.question != "" {
		c.question = question
	}
}

// Cancel drops the question without acting.
func (c *Confirm) Cancel() { c.question, c.yes = "", nil }

// Update handles a key while a question is asked: the Yes key ends it
// and returns what its action returns; the No key ends it. Every key is
// taken while asking (handled is true).
func (c *Confirm) Update(msg tea.KeyPressMsg) (cmd tea.Cmd, handled bool) {
	if c.question == "" {
		return nil, false
	}
	switch {
	case key.Matches(msg, c.Keys.Yes):
		yes := c.yes
		c.Cancel()
		if yes != nil {
			cmd = yes()
		}
	case key.Matches(msg, c.Keys.No):
		c.Cancel()
	}
	return cmd, true
}

// ShortHelp lists the question's keys, for a pane's help while it asks.
func (c *Confirm) ShortHelp() []key.Binding { return []key.Binding{c.Keys.Yes, c.Keys.No} }
