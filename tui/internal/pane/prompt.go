package pane

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// PromptKeys are a prompt's own keys: a key map like a pane's, so the ?
// help lists them while the prompt is up, and an owner can remap them.
type PromptKeys struct {
	Accept, Dismiss key.Binding
}

// DefaultPromptKeys are enter to accept, esc to dismiss.
func DefaultPromptKeys() PromptKeys {
	return PromptKeys{
		Accept:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "accept")),
		Dismiss: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// Prompt is a one-line text question a pane asks in its footer (a
// persona to fine-tune, a slot's name): a text field with its own keys.
// While it is up it takes every key and paste; Accept hands the text to
// the action, Dismiss drops it. Input is the text field, for its prompt,
// placeholder, suggestions and width.
type Prompt struct {
	Keys   PromptKeys
	Input  textinput.Model
	active bool
	accept func(string) tea.Cmd
}

// NewPrompt returns a prompt that shows label before the text.
func NewPrompt(label string) Prompt {
	ti := textinput.New()
	ti.Prompt = label
	st := ti.Styles()
	st.Cursor.Blink = false
	ti.SetStyles(st)
	return Prompt{Keys: DefaultPromptKeys(), Input: ti}
}

// Ask puts the prompt up with value as its text; Accept runs accept with
// the text typed.
func (p *Prompt) Ask(value string, accept func(string) tea.Cmd) tea.Cmd {
	p.active, p.accept = true, accept
	p.Input.SetValue(value)
	p.Input.CursorEnd()
	return p.Input.Focus()
}

// Asking reports whether the prompt is up.
func (p *Prompt) Asking() bool { return p.active }

// Value is the text typed so far.
func (p *Prompt) Value() string { return p.Input.Value() }

// Cancel takes the prompt down without acting.
func (p *Prompt) Cancel() {
	p.active, p.accept = false, nil
	p.Input.Blur()
}

// Update handles a message while the prompt is up: keys and paste, and
// the text field's own messages. handled is false when the prompt is
// down (the message is the owner's).
func (p *Prompt) Update(msg tea.Msg) (cmd tea.Cmd, handled bool) {
	if !p.active {
		return nil, false
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, p.Keys.Accept):
			accept, text := p.accept, p.Input.Value()
			p.Cancel()
			if accept != nil {
				cmd = accept(text)
			}
			return cmd, true
		case key.Matches(k, p.Keys.Dismiss):
			p.Cancel()
			return nil, true
		}
	}
	p.Input, cmd = p.Input.Update(msg)
	return cmd, true
}

// View is the text field.
func (p *Prompt) View() string { return p.Input.View() }

// ShortHelp lists the prompt's keys, for a pane's help while it asks.
func (p *Prompt) ShortHelp() []key.Binding { return []key.Binding{p.Keys.Accept, p.Keys.Dismiss} }
