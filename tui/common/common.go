// Package common holds what every pane of the TUI shares: the Pane
// contract the app drives, the messages panes exchange through the app,
// the shared context (the image, styles, size) and the styles.
//
// A pane is a Bubble Tea model plus its key map and SetSize. Panes never
// talk to each other directly: they return commands whose messages the
// app routes (BrowseMsg opens an object in the browser, InspectMsg in the
// inspector, PagerMsg shows a long text in full in the app's pager).
// Panes reach the image only through api.Image, the interface a remote
// (WebSocket) client implements too, and never block the UI loop: image
// calls run inside tea.Cmds.
package common

import (
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"batos/api"
)

// Pane is one pane of the TUI.
type Pane interface {
	Init() tea.Cmd
	// Update handles a message; key messages reach only the focused pane,
	// every other message reaches every pane.
	Update(msg tea.Msg) (Pane, tea.Cmd)
	// View renders the pane's content in exactly the size last given to
	// SetSize; the app draws the border and title around it.
	View() string
	SetSize(width, height int)
	Focus() tea.Cmd
	Blur()
	// Title is shown in the pane's border.
	Title() string
	// ShortHelp and FullHelp feed the help line and the ? overlay.
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
	// Editing is true while keys go to a text field, so that q, j, k, / and
	// : are typed rather than acted on.
	Editing() bool
	// Dirty is true while the pane holds an unsaved edit: quitting asks
	// first.
	Dirty() bool
}

// Busy is implemented by a pane that can run long work (an evaluation, a
// generation); the app shows a spinner in the status bar while any pane is
// busy. It is optional.
type Busy interface {
	Busy() bool
}

// Canceller is implemented by a Busy pane that can cancel its long work;
// the app calls Cancel when it quits while the pane is busy. It is
// optional.
type Canceller interface {
	Cancel()
}

// Common is what the app gives every pane.
type Common struct {
	Image  api.Image
	Styles *Styles
	// Clock tells the time panes show (nil: the wall clock); tests fix it
	// so that golden views stay the same from run to run. Use Now.
	Clock func() time.Time

	nav navigations
}

// navigations are the BrowseMsg, InspectMsg and InspectValueMsg panes
// asked for (Navigate) and no one has taken yet.
type navigations struct {
	mu      sync.Mutex
	next    int
	pending map[int]tea.Msg
	order   []int
}

// Navigate asks the app to show something in another pane and focus it
// (msg is a BrowseMsg, InspectMsg or InspectValueMsg). The app takes the
// request in the same Update that handled the key (TakeNavigations), so
// the keys typed after it go to the pane it focuses; without an app (a
// pane's own tests) the returned command delivers msg as before.
func (c *Common) Navigate(msg tea.Msg) tea.Cmd {
	c.nav.mu.Lock()
	if c.nav.pending == nil {
		c.nav.pending = map[int]tea.Msg{}
	}
	c.nav.next++
	id := c.nav.next
	c.nav.pending[id] = msg
	c.nav.order = append(c.nav.order, id)
	c.nav.mu.Unlock()
	return func() tea.Msg {
		c.nav.mu.Lock()
		defer c.nav.mu.Unlock()
		m, ok := c.nav.pending[id]
		if !ok {
			return nil // the app took it
		}
		delete(c.nav.pending, id)
		return m
	}
}

// TakeNavigations returns the navigations asked for and not yet
// delivered, oldest first; their commands then deliver nothing.
func (c *Common) TakeNavigations() []tea.Msg {
	c.nav.mu.Lock()
	defer c.nav.mu.Unlock()
	var out []tea.Msg
	for _, id := range c.nav.order {
		if m, ok := c.nav.pending[id]; ok {
			out = append(out, m)
			delete(c.nav.pending, id)
		}
	}
	c.nav.order = c.nav.order[:0]
	return out
}

// Messages panes exchange through the app.
type (
	// BrowseMsg asks the app to show an object (and a selector's source)
	// in the browser and focus it.
	BrowseMsg struct {
		OID      uint64
		Selector string
		// Line, when not 0, is the line of the method's source to point
		// at (a frame of a failed send): the source is scrolled to it.
		Line int
	}
	// InspectMsg asks the app to inspect an object and focus the inspector.
	InspectMsg struct{ OID uint64 }
	// InspectValueMsg asks the app to show a value that is not an object
	// in the inspector (a statement's missing value is a Value with only
	// Text set).
	InspectValueMsg struct{ Value api.Value }
	// EventMsg carries a live event from the image to every pane.
	EventMsg struct{ Event api.Event }
	// ErrMsg reports an error to show in the status line.
	ErrMsg struct{ Err error }
	// InfoMsg reports a line of information to show in the status line.
	InfoMsg struct{ Text string }
	// FocusMsg asks the app to focus the pane with this title.
	FocusMsg struct{ Title string }
	// RefreshMsg tells every pane that the live feed lost events (the app
	// has resubscribed): reload whatever the lost commits may have changed.
	RefreshMsg struct{}
	// PagerMsg asks the app to show Text in full in its pager: an overlay
	// over the panes that wraps long lines to its width and scrolls, for
	// what a pane can only show cut to a line (a value, an output, an
	// entry). Title heads it. The app sanitizes both; Text is plain (no
	// ANSI styles).
	PagerMsg struct{ Title, Text string }
)

// Pager returns a command that opens text in the app's pager under title.
func Pager(title, text string) tea.Cmd {
	return func() tea.Msg { return PagerMsg{Title: title, Text: text} }
}

// Err returns a command that reports err.
func Err(err error) tea.Cmd { return func() tea.Msg { return ErrMsg{Err: err} } }
