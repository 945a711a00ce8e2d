package workspace

import (
	"errors"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/internal/pane"
)

// allowedMsg says whether Lobby.pLLM.allowWrite took the confirmation the
// workspace asked for; on success the evaluation it held back runs again.
type allowedMsg struct {
	b   block
	act action
	err error
}

// askConfirm asks, when err is the pLLM's confirm question
// (Lobby.pLLM.confirm is on and a send found no method), whether the
// pLLM may write the method; yes sends Lobby.pLLM.allowWrite and runs the
// evaluation again. It reports whether it asked.
func (m *Model) askConfirm(err error, b block, act action) bool {
	var ae *api.Error
	if !errors.As(err, &ae) || !ae.Confirm || ae.Object == nil || ae.Selector == "" {
		return false
	}
	img, oid, sel := m.c.Image, ae.Object.OID, ae.Selector
	m.confirm.Ask(fmt.Sprintf("let the pLLM write %s on %s?", sel, ae.Object.Name), func() tea.Cmd {
		return func() tea.Msg {
			ctx, cancel := pane.Ctx()
			defer cancel()
			_, err := img.Eval(ctx, fmt.Sprintf("Lobby.At(%q).Send(%q, ObjectAt(%d), %q)", "pLLM", "allowWrite", oid, sel))
			return allowedMsg{b: b, act: act, err: err}
		}
	})
	return true
}

// allowed runs the held-back evaluation again once the confirmation was
// taken.
func (m *Model) allowed(msg allowedMsg) tea.Cmd {
	if msg.err != nil {
		m.showError(msg.err, block{})
		return nil
	}
	return m.run(msg.b, msg.act)
}
