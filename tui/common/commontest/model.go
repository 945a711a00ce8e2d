package commontest

import (
	"sync"

	tea "charm.land/bubbletea/v2"

	"batos/tui/common"
)

// Model runs one pane as a whole program, for teatest: it sizes and
// focuses the pane, quits on ctrl+c, and records the messages the pane
// sends to the app (BrowseMsg, InspectMsg, InspectValueMsg, FocusMsg,
// ErrMsg, InfoMsg).
type Model struct {
	Pane common.Pane

	mu   sync.Mutex
	sent []tea.Msg
}

// NewModel wraps p.
func NewModel(p common.Pane) *Model { return &Model{Pane: p} }

// Sent returns the app-bound messages the pane has sent so far.
func (m *Model) Sent() []tea.Msg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]tea.Msg(nil), m.sent...)
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return tea.Batch(m.Pane.Init(), m.Pane.Focus()) }

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.Pane.SetSize(msg.Width, msg.Height)
		return m, nil
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" {
			return m, tea.Quit
		}
	case common.BrowseMsg, common.InspectMsg, common.InspectValueMsg, common.FocusMsg, common.ErrMsg, common.InfoMsg:
		m.mu.Lock()
		m.sent = append(m.sent, msg)
		m.mu.Unlock()
		return m, nil
	}
	var cmd tea.Cmd
	m.Pane, cmd = m.Pane.Update(msg)
	return m, cmd
}

// View implements tea.Model.
func (m *Model) View() tea.View { return tea.NewView(m.Pane.View()) }
