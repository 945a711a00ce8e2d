package app

import (
	"context"
	"fmt"
	"math"
	"strings"
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
		// seq is the request's number (Model.statusSeq).
		seq int
	}
	statusTickMsg struct{}
)

// statusCmd asks the image for its status, off the UI loop; poll says
// whether the answer schedules the next poll.
func (m *Model) statusCmd(poll bool) tea.Cmd {
	m.statusSeq++
	img, seq := m.c.Image, m.statusSeq
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := img.Status(ctx)
		return statusMsg{st: st, err: err, poll: poll, seq: seq}
	}
}

// refreshStatus asks for the status now, besides the poll: one request at
// a time, and one more after it however many were asked meanwhile, so that
// a burst of Forge events costs two requests.
func (m *Model) refreshStatus() tea.Cmd {
	if m.refreshing {
		m.refreshAgain = true
		return nil
	}
	m.refreshing = true
	return m.statusCmd(false)
}

// refreshed ends an extra request, starting the one asked meanwhile.
func (m *Model) refreshed() tea.Cmd {
	m.refreshing = false
	if !m.refreshAgain {
		return nil
	}
	m.refreshAgain = false
	return m.refreshStatus()
}

// forgePrincipal is the principal of the Forge's commits.
const forgePrincipal = "forge"

// forgeChanged reports whether ev may change the Forge's job counts: a
// commit by the Forge (a job's transition) or to Lobby.Forge (a job
// queued), or a Forge event that tells of a job in a new state (its live
// progress, in the same state, changes nothing the status bar shows).
func (m *Model) forgeChanged(ev api.Event) bool {
	switch {
	case ev.Type == api.EventCommit && ev.Tx != nil:
		if ev.Tx.Principal == forgePrincipal {
			return true
		}
		for _, r := range ev.Tx.Changed {
			if m.forgeOID != 0 && r.OID == m.forgeOID {
				return true
			}
		}
	case ev.Type == api.EventForge && ev.Forge != nil:
		p := ev.Forge
		if m.forgeStates[p.Job] == p.State {
			return false
		}
		switch p.State {
		case "succeeded", "failed", "cancelled":
			delete(m.forgeStates, p.Job)
		default:
			if len(m.forgeStates) >= 1024 {
				clear(m.forgeStates) // a bound; at worst one refresh too many
			}
			m.forgeStates[p.Job] = p.State
		}
		return true
	}
	return false
}

// forgeSegment is the status bar's word on the Forge's jobs in flight:
// nothing when there are none.
func forgeSegment(st api.Status) string {
	var parts []string
	if st.ForgeRunning > 0 {
		parts = append(parts, fmt.Sprintf("%d running", st.ForgeRunning))
	}
	if st.ForgeQueued > 0 {
		q := fmt.Sprintf("%d queued", st.ForgeQueued)
		if !st.ForgeWorker {
			q += " (no worker)"
		}
		parts = append(parts, q)
	}
	if len(parts) == 0 {
		return ""
	}
	return " │ forge " + strings.Join(parts, ", ")
}

// entropyPrincipal is the principal of the entropy recorder's commits.
const entropyPrincipal = "entropy"

// entropyChanged reports whether ev may change the newest reading
// recorded in Lobby.entropy.series, which the status carries: a commit by
// the entropy recorder (it follows the pLLM's commits) or one that
// changes Lobby.entropy (a record, the series or weights edited).
func (m *Model) entropyChanged(ev api.Event) bool {
	if ev.Type != api.EventCommit || ev.Tx == nil {
		return false
	}
	if ev.Tx.Principal == entropyPrincipal {
		return true
	}
	for _, r := range ev.Tx.Changed {
		if m.entropyOID != 0 && r.OID == m.entropyOID {
			return true
		}
	}
	return false
}

// cemSegment is the status bar's word on the Composite Entropy Metric:
// the newest reading recorded in Lobby.entropy.series, as api.Status
// reads it (it does not measure); nothing when there is none.
func cemSegment(st api.Status) string {
	if !st.CEMKnown || math.IsNaN(st.CEM) || math.IsInf(st.CEM, 0) {
		return ""
	}
	return fmt.Sprintf(" │ CEM %.2f", st.CEM)
}

// autotelicChanged reports whether ev may change the autotelic loop's
// switch, which the status carries: a commit that changes Lobby.autotelic.
func (m *Model) autotelicChanged(ev api.Event) bool {
	if ev.Type != api.EventCommit || ev.Tx == nil || m.autotelicOID == 0 {
		return false
	}
	for _, r := range ev.Tx.Changed {
		if r.OID == m.autotelicOID {
			return true
		}
	}
	return false
}

// autoSegment is the status bar's word on the autotelic loop: on, and
// whether a worker runs it in the image's process (else the switch waits
// for a process that runs one); nothing when it is off.
func autoSegment(st api.Status) string {
	switch {
	case !st.Autotelic:
		return ""
	case !st.AutotelicWorker:
		return " │ auto on (no worker)"
	}
	return " │ auto on"
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
	// The Forge's jobs in flight come first, then the entropy metric and
	// the loop that steers by it: they change, and a narrow terminal cuts
	// the end of the line.
	s := " batos" + forgeSegment(st) + cemSegment(st) + autoSegment(st)
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
