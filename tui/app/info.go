package app

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"batos/tui/common"
)

// defaultInfoTimeout is how long a line of information stays up when no
// key clears it first (Options.InfoTimeout).
const defaultInfoTimeout = 8 * time.Second

// infoExpiredMsg ends message number seq's time on the info line.
type infoExpiredMsg struct{ seq int }

// setInfo shows text on the info line, as an error when isErr.
//
// A message stays until the next key the person types, whatever the key
// does (tab, :, /, a pane's key; only the LastInfo key, which shows it in
// full, leaves it) or a mouse click. A line of information also goes
// after Options.InfoTimeout, so that "reverted tx…" does not outstay its
// news while nobody types; an error does not time out: it stays until a
// key says it was seen, so that one looked away from is not missed. Each
// message is numbered: the timeout of one replaced meanwhile finds a newer
// number and clears nothing. The last message, cleared or not, is what the
// LastInfo key shows in the pager.
func (m *Model) setInfo(text string, isErr bool) tea.Cmd {
	m.infoSeq++
	m.info, m.infoErr = common.Sanitize(text), isErr
	m.lastInfo, m.lastInfoErr = m.info, isErr
	if isErr || m.opts.InfoTimeout < 0 {
		return nil
	}
	seq := m.infoSeq
	return tea.Tick(m.opts.InfoTimeout, func(time.Time) tea.Msg { return infoExpiredMsg{seq: seq} })
}

// showLastInfo opens the pager on the info line's last message, in full.
func (m *Model) showLastInfo() {
	switch {
	case m.lastInfo == "":
		m.openPager("Last message", "(no message yet)")
	case m.lastInfoErr:
		m.openPager("Last error", m.lastInfo)
	default:
		m.openPager("Last message", m.lastInfo)
	}
}

// openPager shows text in full in the pager, over the panes. A text
// that comes while the command line, the search or the quit question is
// up (a pane's answer to a key typed ahead) is dropped: they are not
// taken from under the person's keys.
func (m *Model) openPager(title, text string) {
	switch m.overlay {
	case commandOverlay, searchOverlay, confirmQuitOverlay:
		return
	}
	m.pager.open(title, text)
	m.overlay = pagerOverlay
}
