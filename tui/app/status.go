package app

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
)

type (
	statusMsg struct {
		st  api.Status
		err error
		// poll is set for the poll's own answers, which schedule the
		// next; an extra refresh does not start a second poll.
		poll bool
	}
	statusTickMsg struct{}
)

// statusCmd asks the image for its status, off the UI loop; poll says
// whether the answer schedules the next poll.
func statusCmd(img api.Image, poll bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := img.Status(ctx)
		return statusMsg{st: st, err: err, poll: poll}
	}
}

// sanitizeStatus returns st with every text the image sent sanitized.
func sanitizeStatus(st api.Status) api.Status {
	st.Image, st.PLLM = common.Sanitize(st.Image), common.Sanitize(st.PLLM)
	st.Client, st.Remote = common.Sanitize(st.Client), common.Sanitize(st.Remote)
	st.LastTx = common.SanitizeTx(st.LastTx)
	return st
}

// statusTick schedules the next poll.
func statusTick(every time.Duration) tea.Cmd {
	if every <= 0 {
		return nil
	}
	return tea.Tick(every, func(time.Time) tea.Msg { return statusTickMsg{} })
}

// statusLine renders the status bar's text.
func (m *Model) statusLine() string {
	st := m.status
	s := " batos"
	if st.Image != "" {
		s += " │ " + st.Image
	}
	if st.Remote != "" {
		// Attached over the wire: where, and as whom.
		s += " │ remote " + st.Remote
		if st.Client != "" {
			s += " as " + st.Client
		}
	}
	s += fmt.Sprintf(" │ %d objects", st.Objects)
	if st.LastTx.ID != 0 {
		s += fmt.Sprintf(" │ tx %d %s %s", st.LastTx.ID, st.LastTx.Principal, st.LastTx.Time.Format("15:04:05"))
	}
	pllm := st.PLLM
	if pllm == "" {
		pllm = "…"
	}
	s += " │ pLLM " + pllm
	switch {
	case st.Clients == 1:
		s += " │ 1 client"
	case st.Clients > 1:
		s += fmt.Sprintf(" │ %d clients", st.Clients)
	}
	if m.feedLost {
		s += " │ live feed disconnected"
	}
	if m.busy() {
		s += " │ " + m.spin.View() + " working"
	}
	return s + " "
}
