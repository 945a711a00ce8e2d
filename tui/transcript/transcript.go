// Package transcript is the TUI's live feed: every commit as it happens
// (time, principal coloured by kind, the objects and slots changed), a
// unified diff of each changed method on demand, the pLLM's tokens
// streaming while it writes a method, and script output of every client,
// each line attributed to the client that printed it (api.Event.Client).
// Where the feed lost events (api.EventMissed), a line says so.
//
// It opens on the image's recent history (RecentOnStart transactions,
// loaded by Init) before the live commits. The app subscribes before it
// starts the panes, so a commit made while the history loads comes live
// too: the two merge by transaction (see recent), keeping every live
// commit and showing none twice.
//
// The pLLM's tokens stream into one entry per persona, selector and
// attempt (api.Token.Attempt), headed "pLLM/BRICK is writing fibonacci ·
// attempt 2": each candidate of a generation, and each review of one,
// reads apart. A token with an Outcome ends its entry and is shown on it:
// accepted, a review's approved, or rejected, failed, unreachable with the
// reason, as an error.
//
// The feed keeps at most MaxEntries entries (the oldest go first) and is
// virtualised: only the entries that reach the screen are rendered, each
// entry caching its lines until its content or the width changes. While
// the newest entry is selected the view follows the feed; moving up stops
// following, G follows again. A filter (f) cycles all / user / pLLM /
// other principals. An entry is drawn cut to the pane's width (a commit
// to its summary's first line); v opens the selected entry in full in the
// app's pager (common.PagerMsg): a whole output line, a pLLM stream's
// whole text with its outcome and every line of the reason, a commit's
// summary, note, diffs and slot values.
package transcript

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/aymanbagabas/go-udiff"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// MaxEntries caps the kept history.
const MaxEntries = 5000

// RecentOnStart is how many of the image's newest transactions the
// transcript shows when it opens, before the live commits.
const RecentOnStart = 50

// historyMsg carries the image's recent transactions, newest first.
type historyMsg struct {
	txs []api.Tx
	err error
}

// lookBack is how many of the newest entries a token or an output line
// may continue.
const lookBack = 20

// maxOutputLine bounds one line of a script's output as the transcript
// keeps it.
const maxOutputLine = 16 << 10

type entryKind int

const (
	commitEntry entryKind = iota
	outputEntry
	streamEntry
	missedEntry // the feed lost events here
)

type entry struct {
	kind      entryKind
	time      time.Time
	principal string
	tx        *api.Tx
	changes   []api.Change
	text      string // output line; streamed text
	persona   string
	selector  string
	open      bool   // output: the line has no newline yet; stream: still writing
	waiting   string // stream: the server has said nothing yet, for this long
	expanded  bool
	past      bool // commit: from the image's history, not the live feed

	// A stream's generation: session is the principal whose send it
	// answers (api.Token.Principal), attempt the candidate's attempt (0:
	// not a candidate's), outcome and reason what became of it (empty
	// while it has not ended).
	session         string
	attempt         int
	outcome, reason string

	lines []string // rendered, for width; nil when stale
	width int
}

// Filters, in the order f cycles them.
var filters = []string{"all", "user", "pLLM", "other"}

// Model is the transcript pane.
type Model struct {
	c    *common.Common
	keys KeyMap

	entries []*entry
	visible []int // indexes into entries that pass the filter
	cursor  int   // index into visible
	offset  int   // first visible entry shown when not following
	follow  bool
	filter  int

	width, height int
	focused       bool

	// The recent history (see recent): loading until it has come; liveMin
	// the oldest live commit seen meanwhile; past the history's entries
	// by transaction, which a live commit of the same transaction takes
	// the place of.
	loading bool
	liveMin uint64
	past    map[uint64]*entry
}

var _ common.Pane = (*Model)(nil)

// New returns an empty transcript.
func New(c *common.Common) *Model {
	return &Model{c: c, keys: DefaultKeyMap(), follow: true}
}

// Init implements common.Pane: it loads the image's recent transactions,
// which the transcript shows before the commits that come live.
func (m *Model) Init() tea.Cmd {
	m.loading = true
	img := m.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		txs, err := img.History(ctx, 0, RecentOnStart)
		return historyMsg{txs: txs, err: err}
	}
}

// recent puts the image's recent transactions (newest first) before the
// entries the live feed added while they loaded. The app subscribed before
// the history was asked for, so every later commit comes live; one that
// committed in between is in both, and its live entry is the one kept
// (it carries the slot changes):
//   - a transaction the feed has delivered already is not added again;
//   - nor is one as new as the oldest live commit seen (liveMin): those
//     the feed has delivered or is delivering, after everything older;
//   - the rest are older than anything live, so they go first; should the
//     feed deliver one of them yet (commits published out of order, or
//     queued before any live commit was seen), its live entry replaces
//     the history's at the end (see relive).
func (m *Model) recent(txs []api.Tx) {
	live := map[uint64]bool{}
	for _, e := range m.entries {
		if e.kind == commitEntry {
			live[e.tx.ID] = true
		}
	}
	var old []*entry
	for i := len(txs) - 1; i >= 0; i-- {
		tx := txs[i]
		if tx.ID == 0 || live[tx.ID] || m.liveMin != 0 && tx.ID >= m.liveMin {
			continue
		}
		live[tx.ID] = true
		t := tx.Time
		if t.IsZero() {
			t = m.c.Now()
		}
		e := &entry{kind: commitEntry, time: t, principal: tx.Principal, tx: &tx, past: true}
		old = append(old, e)
		if m.past == nil {
			m.past = map[uint64]*entry{}
		}
		m.past[tx.ID] = e
	}
	if len(old) == 0 {
		return
	}
	var sel *entry
	if !m.follow {
		sel = m.selected()
	}
	m.entries = append(old, m.entries...)
	if len(m.entries) > MaxEntries {
		m.entries = append([]*entry(nil), m.entries[len(m.entries)-MaxEntries:]...)
	}
	m.rebuild(sel)
}

// relive moves e, the history's entry of a transaction the live feed has
// now delivered, to the end of the feed as that live commit.
func (m *Model) relive(e *entry, tx api.Tx, changes []api.Change, t time.Time) {
	var sel *entry
	if !m.follow {
		sel = m.selected()
	}
	if i := slices.Index(m.entries, e); i >= 0 {
		m.entries = slices.Delete(m.entries, i, i+1)
	}
	e.time, e.tx, e.changes, e.past, e.lines = t, &tx, changes, false, nil
	m.entries = append(m.entries, e)
	m.rebuild(sel)
}

// Title implements common.Pane; it names the filter when one is set.
func (m *Model) Title() string { return "Transcript" }

// Filter names the current filter.
func (m *Model) Filter() string { return filters[m.filter] }

// Editing implements common.Pane.
func (m *Model) Editing() bool { return false }

// Dirty implements common.Pane.
func (m *Model) Dirty() bool { return false }

// Len is the number of entries kept.
func (m *Model) Len() int { return len(m.entries) }

// ShortHelp implements common.Pane.
func (m *Model) ShortHelp() []key.Binding { return m.keys.ShortHelp() }

// FullHelp implements common.Pane.
func (m *Model) FullHelp() [][]key.Binding { return m.keys.FullHelp() }

// SetSize implements common.Pane.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.scroll()
}

// Focus implements common.Pane.
func (m *Model) Focus() tea.Cmd { m.focused = true; return nil }

// Blur implements common.Pane.
func (m *Model) Blur() { m.focused = false }

// Update implements common.Pane.
func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case historyMsg:
		if !m.loading {
			return m, nil
		}
		m.loading = false
		if msg.err != nil {
			return m, common.Err(fmt.Errorf("transcript: recent history: %w", msg.err))
		}
		m.recent(msg.txs)
	case common.EventMsg:
		m.event(msg.Event)
	case tea.KeyPressMsg:
		if m.focused {
			return m, m.key(msg)
		}
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			m.move(-3)
		case tea.MouseWheelDown:
			m.move(3)
		}
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Up):
		m.move(-1)
	case key.Matches(msg, m.keys.Down):
		m.move(1)
	case key.Matches(msg, m.keys.PageUp):
		m.move(-max(m.height-1, 1))
	case key.Matches(msg, m.keys.PageDown):
		m.move(max(m.height-1, 1))
	case key.Matches(msg, m.keys.Top):
		m.move(-len(m.visible))
	case key.Matches(msg, m.keys.Bottom):
		m.move(len(m.visible))
	case key.Matches(msg, m.keys.Diff):
		if e := m.selected(); e != nil && e.kind == commitEntry {
			e.expanded = !e.expanded
			e.lines = nil
			m.scroll()
		}
	case key.Matches(msg, m.keys.Filter):
		m.filter = (m.filter + 1) % len(filters)
		m.refilter()
	case key.Matches(msg, m.keys.Full):
		if e := m.selected(); e != nil {
			title, text := m.full(e)
			return common.Pager(title, text)
		}
	}
	return nil
}

func (m *Model) selected() *entry {
	if m.cursor < 0 || m.cursor >= len(m.visible) {
		return nil
	}
	return m.entries[m.visible[m.cursor]]
}

func (m *Model) move(d int) {
	if len(m.visible) == 0 {
		return
	}
	m.cursor = max(0, min(len(m.visible)-1, m.cursor+d))
	m.follow = m.cursor == len(m.visible)-1
	m.scroll()
}

// scroll moves offset just enough that the selected entry is on screen:
// up to the cursor, or down to the first entry from which the entries up
// to the cursor fit. It walks back from the cursor over at most a screen's
// height of entries, so it costs O(height), never O(entries); View only
// reads offset.
func (m *Model) scroll() {
	if m.cursor < m.offset {
		m.offset = m.cursor
		return
	}
	h := m.height - 1
	if h <= 0 || len(m.visible) == 0 {
		return
	}
	lo, n := m.cursor, 0
	for i := m.cursor; i >= m.offset; i-- {
		n += m.entryHeight(i)
		if n > h {
			break
		}
		lo = i
	}
	m.offset = max(m.offset, lo)
}

// entryHeight is how many lines visible entry i takes.
func (m *Model) entryHeight(i int) int {
	e := m.entries[m.visible[i]]
	if e.lines == nil || e.width != m.width {
		e.lines, e.width = m.lines(e), m.width
	}
	return len(e.lines)
}

// event adds what ev reports.
func (m *Model) event(ev api.Event) {
	now := m.c.Now()
	switch ev.Type {
	case api.EventCommit:
		if ev.Tx == nil {
			return
		}
		tx := *ev.Tx
		t := tx.Time
		if t.IsZero() {
			t = now
		}
		if m.loading && (m.liveMin == 0 || tx.ID < m.liveMin) {
			m.liveMin = tx.ID
		}
		// A commit by a principal that was streaming ends its stream; a
		// pLLM commit (pLLM/<persona> installing, or pLLM recording a
		// failure) ends the generation, so every persona's stream.
		for i := len(m.entries) - 1; i >= 0 && i >= len(m.entries)-lookBack; i-- {
			e := m.entries[i]
			if e.kind == streamEntry && e.open && (e.principal == tx.Principal || kindOf(tx.Principal) == "pLLM" && kindOf(e.principal) == "pLLM") {
				e.open, e.lines = false, nil
			}
		}
		if e := m.past[tx.ID]; e != nil {
			delete(m.past, tx.ID)
			m.relive(e, tx, ev.Changes, t)
			return
		}
		m.add(&entry{kind: commitEntry, time: t, principal: tx.Principal, tx: &tx, changes: ev.Changes})
	case api.EventToken:
		if ev.Token != nil {
			m.token(ev.Token, now)
		}
	case api.EventOutput:
		// Each client's lines are its own: another client's output in
		// between does not join them.
		who := ev.Client
		if who == "" {
			who = "image"
		}
		text := ev.Output
		for text != "" {
			line, rest, nl := strings.Cut(text, "\n")
			text = rest
			if e := m.openOutput(who); e != nil {
				// A line printed a byte at a time must not cost time
				// quadratic in its length, nor hold more than a screen
				// could ever show.
				if len(e.text) < maxOutputLine {
					e.text += line[:min(len(line), maxOutputLine-len(e.text))]
				}
				e.open, e.lines = !nl, nil
				continue
			}
			line = line[:min(len(line), maxOutputLine)]
			m.add(&entry{kind: outputEntry, time: now, principal: who, text: line, open: !nl})
		}
	case api.EventMissed:
		m.add(&entry{kind: missedEntry, time: now, text: fmt.Sprintf("missed %d events: the feed fell behind and was resumed", ev.Missed)})
	}
}

// token adds a piece of model output to its stream. The writer is the
// persona; Token.Principal is the session whose send it answers. Personas
// write concurrently, a generation tries again, a reviewer answers on a
// candidate: one entry per persona, selector and attempt. An outcome ends
// the entry it belongs to (one that a commit already closed, too), or
// stands alone when nothing of that stream is left to end (a persona that
// was unreachable wrote nothing).
func (m *Model) token(tok *api.Token, now time.Time) {
	principal := tok.Principal
	if tok.Persona != "" {
		principal = "pLLM/" + tok.Persona
	}
	var cur *entry
	for i := len(m.entries) - 1; i >= 0 && i >= len(m.entries)-lookBack; i-- {
		e := m.entries[i]
		if e.kind != streamEntry || e.selector != tok.Selector || e.session != tok.Principal {
			continue
		}
		switch {
		case cur == nil && e.principal == principal && e.attempt == tok.Attempt && (e.open || tok.Outcome != "" && e.outcome == ""):
			cur = e
		case !e.open || e.attempt == 0:
		case e.attempt < tok.Attempt, tok.Outcome != "" && e.attempt == tok.Attempt:
			// An attempt begins once the one before it has ended, and
			// outcomes and verdicts come once every candidate of their
			// attempt is written: a stream left open there is over.
			e.open, e.lines = false, nil
		}
	}
	added := cur == nil
	if added {
		cur = &entry{kind: streamEntry, time: now, principal: principal, persona: tok.Persona, selector: tok.Selector,
			session: tok.Principal, attempt: tok.Attempt, open: true}
	}
	cur.text += tok.Text
	cur.waiting = waitingNote(tok)
	if tok.Outcome != "" {
		cur.open, cur.outcome, cur.reason = false, tok.Outcome, tok.Reason
	}
	cur.lines = nil
	if added {
		m.add(cur)
	} else if !m.follow {
		m.scroll()
	}
}

// openOutput returns principal's unfinished output line among the newest
// entries, or nil.
func (m *Model) openOutput(principal string) *entry {
	for i := len(m.entries) - 1; i >= 0 && i >= len(m.entries)-lookBack; i-- {
		if e := m.entries[i]; e.kind == outputEntry && e.open && e.principal == principal {
			return e
		}
	}
	return nil
}

func (m *Model) add(e *entry) {
	m.entries = append(m.entries, e)
	if len(m.entries) > MaxEntries+MaxEntries/10 {
		// Drop the oldest in one go, so trimming costs O(1) per entry.
		drop := len(m.entries) - MaxEntries
		m.entries = append([]*entry(nil), m.entries[drop:]...)
		m.refilter()
		return
	}
	if m.passes(e) {
		m.visible = append(m.visible, len(m.entries)-1)
		if m.follow {
			m.cursor = len(m.visible) - 1
		}
	}
}

// kindOf sorts a principal for the filter.
func kindOf(principal string) string {
	switch {
	case principal == "user":
		return "user"
	case strings.HasPrefix(principal, "pLLM"):
		return "pLLM"
	}
	return "other"
}

func (m *Model) passes(e *entry) bool {
	f := filters[m.filter]
	return f == "all" || e.kind == missedEntry || kindOf(e.principal) == f
}

func (m *Model) refilter() {
	var sel *entry
	if !m.follow {
		sel = m.selected()
	}
	m.rebuild(sel)
}

// rebuild lists the entries that pass the filter, keeping sel selected,
// or following when sel is nil.
func (m *Model) rebuild(sel *entry) {
	m.visible = m.visible[:0]
	m.cursor = 0
	for i, e := range m.entries {
		if m.passes(e) {
			if e == sel {
				m.cursor = len(m.visible)
			}
			m.visible = append(m.visible, i)
		}
	}
	if sel == nil || m.follow {
		m.cursor = max(len(m.visible)-1, 0)
		m.follow = true
	}
	m.offset = min(m.offset, m.cursor)
	m.scroll()
}

// View implements common.Pane.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	header := m.c.Styles.Dim.Render(fmt.Sprintf("filter: %s · %d entries", filters[m.filter], len(m.visible)))
	h := m.height - 1
	if len(m.visible) == 0 {
		empty := "no commits yet: they appear here live"
		if m.loading {
			empty = "loading recent history…"
		}
		return common.Fit(header+"\n"+m.c.Styles.Dim.Render(empty), m.width, m.height)
	}
	var lines []string
	if m.follow || m.lastLinesFit() {
		// Fill from the selected entry upward, so its end is on screen.
		for i := m.cursor; i >= 0 && len(lines) < h; i-- {
			lines = append(m.render(i), lines...)
		}
		if len(lines) > h {
			lines = lines[len(lines)-h:]
		}
		for i := m.cursor + 1; i < len(m.visible) && len(lines) < h; i++ {
			lines = append(lines, m.render(i)...)
		}
	} else {
		// Keep offset, which move and scroll keep showing the selected
		// entry; View only reads it.
		for i := min(m.offset, m.cursor); i < len(m.visible) && len(lines) < h; i++ {
			lines = append(lines, m.render(i)...)
		}
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	return common.Fit(header+"\n"+strings.Join(lines, "\n"), m.width, m.height)
}

// lastLinesFit is true when the entries from the selected one to the end
// fit under it: then filling upward shows as much as possible.
func (m *Model) lastLinesFit() bool {
	return m.cursor >= len(m.visible)-1
}

// render returns visible entry i's lines, cached.
func (m *Model) render(i int) []string {
	e := m.entries[m.visible[i]]
	sel := m.focused && i == m.cursor
	if e.lines == nil || e.width != m.width {
		e.lines, e.width = m.lines(e), m.width
	}
	if !sel {
		return e.lines
	}
	out := append([]string(nil), e.lines...)
	// The selection style goes over the plain text, whole.
	out[0] = m.c.Styles.Selected.Render(common.FitLine(ansi.Strip(out[0]), m.width))
	return out
}

func (m *Model) lines(e *entry) []string {
	st := m.c.Styles
	stamp := st.Dim.Render(e.time.Format("15:04:05"))
	who := st.Principal(e.principal).Render(fmt.Sprintf("%-10s", common.Sanitize(e.principal)))
	switch e.kind {
	case outputEntry:
		return []string{stamp + " " + who + " " + st.Dim.Render("output") + " " + common.Sanitize(e.text)}
	case missedEntry:
		return []string{stamp + " " + st.Error.Render(e.text)}
	case streamEntry:
		head := fmt.Sprintf("%s %s %s %s", stamp, who, e.verb(), st.Title.Render(common.Sanitize(e.selector)))
		if e.attempt > 0 {
			head += st.Dim.Render(fmt.Sprintf(" · attempt %d", e.attempt))
		}
		if e.outcome != "" {
			head += st.Dim.Render(" · ") + m.outcomeStyle(e.outcome).Render(common.Sanitize(e.outcome))
		}
		out := []string{head}
		if e.open || e.text != "" {
			for _, l := range strings.Split(strings.TrimRight(common.Sanitize(e.text), "\n"), "\n") {
				out = append(out, "  "+l)
			}
		}
		if e.open {
			out[len(out)-1] += "▌"
		}
		if e.open && e.text == "" && e.waiting != "" {
			out = append(out, "  "+st.Dim.Render(e.waiting))
		}
		if e.outcome != "" {
			// The reason on one line: a compiler's or a reviewer's
			// lines joined, cut to the width; v shows them as they are.
			out = append(out, "  "+m.outcomeStyle(e.outcome).Render(common.Sanitize(e.outcomeLine(oneLine(e.reason)))))
		}
		return out
	}
	marker := "▸"
	if e.expanded {
		marker = "▾"
	}
	head := fmt.Sprintf("%s %s %s %s %s", stamp, who, marker, st.Dim.Render(fmt.Sprintf("tx %d", e.tx.ID)), firstLine(common.Sanitize(summary(e))))
	out := []string{head}
	if e.expanded {
		out = append(out, m.diffLines(e, false)...)
	}
	return out
}

// full is entry e in full, as plain text, for the app's pager: what the
// pane cuts to its width or to a first line (a long output line, a
// summary, a note, a data slot's values) and what it folds (a commit's
// diffs, shown whether or not they are expanded).
func (m *Model) full(e *entry) (title, text string) {
	stamp := e.time.Format("15:04:05")
	who := common.Sanitize(e.principal)
	switch e.kind {
	case outputEntry:
		return "Transcript: output of " + who, stamp + " " + who + " output\n\n" + common.Sanitize(e.text)
	case missedEntry:
		return "Transcript: missed events", stamp + " " + e.text
	case streamEntry:
		what := e.verb() + " " + common.Sanitize(e.selector)
		if e.attempt > 0 {
			what += fmt.Sprintf(" · attempt %d", e.attempt)
		}
		text := fmt.Sprintf("%s %s %s", stamp, who, what)
		if e.open || e.text != "" {
			text += "\n\n" + strings.TrimRight(common.Sanitize(e.text), "\n")
		}
		if e.open && e.waiting != "" {
			text += "\n" + e.waiting
		}
		if e.outcome != "" {
			text += "\n\n" + common.Sanitize(e.outcomeLine(e.reason))
		}
		return "Transcript: " + who + " " + what, text
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s tx %d\n%s\n", stamp, who, e.tx.ID, common.Sanitize(fullSummary(e)))
	if e.tx.Note != "" && len(e.changes) > 0 {
		b.WriteString("note: " + common.Sanitize(e.tx.Note) + "\n")
	}
	b.WriteString("\n" + strings.Join(m.diffLines(e, true), "\n"))
	return fmt.Sprintf("Transcript: tx %d by %s", e.tx.ID, who), b.String()
}

// verb says what a stream's persona does or did: a verdict tells a
// review.
func (e *entry) verb() string {
	switch {
	case e.open:
		return "is writing"
	case e.outcome == "approved":
		return "reviewed"
	}
	return "wrote"
}

// outcomeLine is what became of a candidate, with why: "rejected: it
// does not compile".
func (e *entry) outcomeLine(reason string) string {
	if reason == "" {
		return e.outcome
	}
	return e.outcome + ": " + reason
}

// outcomeStyle styles an outcome: a candidate taken or approved as
// information, one turned down as an error, one left unused dim.
func (m *Model) outcomeStyle(outcome string) lipgloss.Style {
	switch outcome {
	case "accepted", "approved":
		return m.c.Styles.Info
	case "rejected", "failed", "unreachable":
		return m.c.Styles.Error
	}
	return m.c.Styles.Dim
}

// oneLine joins s's non-blank lines with " · ".
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " · ")
}

// fullSummary is summary without its cut: every line of a note.
func fullSummary(e *entry) string {
	if len(e.changes) == 0 && e.tx.Note != "" {
		return e.tx.Note
	}
	return summary(e)
}

// summary names the objects and slots a commit changed: "point: +area ~w".
func summary(e *entry) string {
	if len(e.changes) == 0 {
		if e.tx.Note != "" {
			return firstLine(e.tx.Note)
		}
		var names []string
		for _, r := range e.tx.Changed {
			names = append(names, refName(r))
		}
		return strings.Join(names, ", ")
	}
	var parts []string
	for _, c := range e.changes {
		var b strings.Builder
		if c.Created {
			b.WriteString("new ")
		}
		if c.Deleted {
			b.WriteString("deleted ")
		}
		b.WriteString(refName(c.Object))
		if len(c.Slots) > 0 {
			b.WriteString(":")
			for _, s := range c.Slots {
				b.WriteString(" " + opSign(s.Op) + s.Name)
			}
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "; ")
}

func refName(r api.Ref) string {
	if r.Name != "" {
		return r.Name
	}
	return fmt.Sprintf("object %d", r.OID)
}

func opSign(op string) string {
	switch op {
	case "added":
		return "+"
	case "removed":
		return "-"
	}
	return "~"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + "…"
	}
	return s
}

// diffLines shows each changed method as a unified diff, and each other
// slot as before → after, cut to a line and styled; plain: unstyled and
// in full (a value of many lines is shown whole), for the pager.
func (m *Model) diffLines(e *entry, plain bool) []string {
	st := m.c.Styles
	var dim, add, del func(...string) string = st.Dim.Render, st.Info.Render, st.Error.UnsetBold().Render
	cut, none := firstLine, orNone
	if plain {
		id := func(s ...string) string { return strings.Join(s, " ") }
		dim, add, del = id, id, id
		cut = func(s string) string { return s }
		none = func(s string) string {
			if s == "" {
				return "(none)"
			}
			return s
		}
	}
	var out []string
	for _, c := range e.changes {
		for _, s := range c.Slots {
			if s.Kind != api.KindMethod {
				line := cut(common.Sanitize(fmt.Sprintf("%s.%s (%s) %s: %s → %s", refName(c.Object), s.Name, s.Kind, s.Op, none(s.Before), none(s.After))))
				out = append(out, "  "+dim(strings.ReplaceAll(line, "\n", "\n    ")))
				continue
			}
			name := common.Sanitize(refName(c.Object) + "." + s.Name)
			d := udiff.Unified(name+" before", name+" after", withNL(common.SanitizeSource(s.Before)), withNL(common.SanitizeSource(s.After)))
			if d == "" {
				out = append(out, "  "+dim(common.Sanitize(s.Name)+": source unchanged"))
				continue
			}
			for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
				switch {
				case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"), strings.HasPrefix(l, "@@"):
					l = dim(l)
				case strings.HasPrefix(l, "+"):
					l = add(l)
				case strings.HasPrefix(l, "-"):
					l = del(l)
				}
				out = append(out, "  "+strings.ReplaceAll(l, "\t", "    "))
			}
		}
	}
	if len(out) == 0 && e.past {
		out = append(out, "  "+dim("from the image's history: its slot changes are not loaded here (the History pane has them)"))
	} else if len(out) == 0 {
		out = append(out, "  "+dim("no slot changes recorded"))
	}
	return out
}

func withNL(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return firstLine(s)
}

// waitingNote says how long a silent model server has been waited for.
func waitingNote(tok *api.Token) string {
	if tok.Waiting <= 0 {
		return ""
	}
	return fmt.Sprintf("waiting for %s: no answer after %s", common.Sanitize(tok.Endpoint), time.Duration(tok.Waiting*float64(time.Second)).Round(time.Second))
}
