package history

import (
	"errors"
	"fmt"
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

// pageSize is how many transactions one History call loads (a variable
// so that tests can page through a few).
var pageSize = 100

// KeyMap is the history pane's key bindings.
type KeyMap struct {
	Up, Down, Top, Bottom key.Binding
	Versions, Open, Back  key.Binding
	Mark, Undo            key.Binding
	RevertTo              key.Binding // in the versions: define the method's source as of that version
	Full                  key.Binding // in the versions: the diff in the pager, full width and wrapped
}

// DefaultKeyMap returns the history pane's default key bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "newest")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "oldest")),
		Versions: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "method versions")),
		Open:     key.NewBinding(key.WithKeys("enter", "l"), key.WithHelp("enter", "open")),
		Back:     key.NewBinding(key.WithKeys("esc", "h", "backspace"), key.WithHelp("esc/h", "back")),
		Mark:     key.NewBinding(key.WithKeys("space", "m"), key.WithHelp("space", "mark version to diff against")),
		Undo:     key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "revert transaction")),
		RevertTo: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "revert method to version")),
		Full:     key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "diff in full")),
	}
}

type mode int

const (
	modeList     mode = iota
	modeChoose        // choosing a method for v
	modeVersions      // a method's versions and a diff
)

type (
	historyMsg struct {
		before uint64
		txs    []api.Tx
		err    error
	}
	choicesMsg struct {
		tx      uint64
		choices []choice
		err     error
	}
	versionsMsg struct {
		c    choice
		vers []api.Version // sources sanitized, for the view
		raw  []string      // the sources as the image holds them, for a revert
		err  error
	}
	// revertToMsg answers a revert of a method to one of its versions.
	revertToMsg struct {
		c   choice
		tx  uint64 // the version's transaction
		new api.Tx
		err error
	}
	undoMsg struct {
		tx  uint64
		new api.Tx
		err error
	}
)

// choice is a method to show the versions of.
type choice struct {
	oid      uint64
	name     string // the object's name
	selector string
}

// Model is the history pane.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	focus  bool
	mode   mode

	txs       []api.Tx
	changes   map[uint64][]api.Change // by transaction, from events
	changeIDs []uint64                // changes' keys, oldest first
	cursor    int
	off       int
	loading   bool
	exhausted bool

	context common.BrowseMsg // the browser's last selection

	choices      []choice
	choiceCursor int

	method   choice
	versions []api.Version
	raw      []string // versions' sources unsanitized, by index
	vCursor  int
	mark     int // the version diffed against; -1: the one before the cursor's
	diffOff  int
	follow   uint64 // a version (a transaction) to put the cursor on when it is listed

	// confirm is the y/n question in the footer (undo, revert).
	confirm pane.Confirm

	conflict  []string // why the last revert could not apply
	status    string
	statusErr bool // status is an error

	// formatTime renders a transaction's time; tests fix it.
	formatTime func(time.Time) string
}

var _ common.Pane = (*Model)(nil)

// New returns a history pane over c.Image.
func New(c *common.Common) *Model {
	return &Model{
		c: c, keys: DefaultKeyMap(), width: 80, height: 24, mark: -1,
		changes:    map[uint64][]api.Change{},
		formatTime: func(t time.Time) string { return t.Local().Format("15:04:05") },
	}
}

// Init loads the newest page.
func (m *Model) Init() tea.Cmd { m.loading = true; return m.load(0) }

func (m *Model) Title() string  { return "History" }
func (m *Model) Editing() bool  { return m.confirm.Asking() }
func (m *Model) Dirty() bool    { return false }
func (m *Model) Blur()          { m.focus = false }
func (m *Model) Focus() tea.Cmd { m.focus = true; return nil }

func (m *Model) SetSize(width, height int) {
	m.width, m.height = max(width, 20), max(height, 4)
	m.off = pane.Scroll(m.cursor, m.off, m.listHeight(), len(m.txs))
}

func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	if m.confirm.Asking() {
		return m.confirm.ShortHelp()
	}
	if m.mode == modeVersions {
		return []key.Binding{k.Up, k.Down, k.Mark, k.RevertTo, k.Back}
	}
	return []key.Binding{k.Up, k.Down, k.Versions, k.Undo}
}

func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	if m.confirm.Asking() {
		return [][]key.Binding{m.confirm.ShortHelp()}
	}
	return [][]key.Binding{{k.Up, k.Down, k.Top, k.Bottom}, {k.Versions, k.Open, k.Back, k.Mark}, {k.Undo, k.RevertTo, k.Full}}
}

func (m *Model) load(before uint64) tea.Cmd {
	img := m.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		txs, err := img.History(ctx, before, pageSize)
		for i := range txs {
			txs[i] = common.SanitizeTx(txs[i])
		}
		return historyMsg{before: before, txs: txs, err: err}
	}
}

func (m *Model) selectedTx() (api.Tx, bool) {
	if m.cursor < len(m.txs) {
		return m.txs[m.cursor], true
	}
	return api.Tx{}, false
}

// listHeight is the rows of the left list: a header and the footer aside.
func (m *Model) listHeight() int { return max(m.height-2, 1) }

// merge adds txs (newest first) to the list, keeping it newest first and
// free of duplicates.
func (m *Model) merge(txs []api.Tx) {
	var sel uint64
	if t, ok := m.selectedTx(); ok {
		sel = t.ID
	}
	seen := map[uint64]bool{}
	var all []api.Tx
	for _, list := range [][]api.Tx{txs, m.txs} {
		for _, t := range list {
			if !seen[t.ID] {
				seen[t.ID] = true
				all = append(all, t)
			}
		}
	}
	// Both lists are newest first; sort the union the same way.
	sortTxs(all)
	m.txs = all
	for i, t := range m.txs {
		if t.ID == sel {
			m.cursor = i
		}
	}
	m.off = pane.Scroll(m.cursor, m.off, m.listHeight(), len(m.txs))
}

func sortTxs(txs []api.Tx) {
	for i := 1; i < len(txs); i++ {
		for j := i; j > 0 && txs[j].ID > txs[j-1].ID; j-- {
			txs[j], txs[j-1] = txs[j-1], txs[j]
		}
	}
}

func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case historyMsg:
		m.loading = false
		if msg.err != nil {
			m.status, m.statusErr = common.Sanitize(msg.err.Error()), true
			return m, nil
		}
		if msg.before != 0 && len(msg.txs) < pageSize {
			m.exhausted = true
		}
		if msg.before == 0 && len(msg.txs) < pageSize {
			m.exhausted = true
		}
		m.merge(msg.txs)
		return m, nil
	case common.EventMsg:
		ev := msg.Event
		if ev.Type == api.EventCommit && ev.Tx != nil {
			m.keepChanges(ev.Tx.ID, sanitizeChanges(ev.Changes))
			m.merge([]api.Tx{common.SanitizeTx(*ev.Tx)})
			if m.mode == modeVersions && touches(ev, m.method.oid) {
				return m, m.loadVersions(m.method)
			}
		}
		return m, nil
	case common.BrowseMsg:
		m.context = msg
		return m, nil
	case common.RefreshMsg:
		// Commits were missed: the newest page again, and the versions
		// shown (their changes stay unknown: events only carry those).
		cmds := []tea.Cmd{m.load(0)}
		if m.mode == modeVersions {
			cmds = append(cmds, m.loadVersions(m.method))
		}
		m.loading = true
		return m, tea.Batch(cmds...)
	case choicesMsg:
		if msg.err != nil {
			m.status, m.statusErr = common.Sanitize(msg.err.Error()), true
			return m, nil
		}
		switch len(msg.choices) {
		case 0:
			m.status, m.statusErr = fmt.Sprintf("tx %d changed no method", msg.tx), false
		case 1:
			return m, m.loadVersions(msg.choices[0])
		default:
			m.mode, m.choices, m.choiceCursor = modeChoose, msg.choices, 0
		}
		return m, nil
	case versionsMsg:
		if msg.err != nil {
			m.status, m.statusErr = common.Sanitize(msg.err.Error()), true
			return m, nil
		}
		m.showVersions(msg)
		return m, nil
	case revertToMsg:
		what := fmt.Sprintf("%s › %s", msg.c.name, msg.c.selector)
		if msg.err != nil {
			// Define installs nothing when it fails: nothing changed.
			m.status, m.statusErr = fmt.Sprintf("cannot revert %s to tx %d: %s", what, msg.tx, common.SanitizeLine(msg.err.Error())), true
			return m, nil
		}
		m.status, m.statusErr = fmt.Sprintf("reverted %s to tx %d as tx %d", what, msg.tx, msg.new.ID), false
		text := m.status
		cmds := []tea.Cmd{m.load(0), func() tea.Msg { return common.InfoMsg{Text: text} }}
		if m.mode == modeVersions && m.method == msg.c {
			m.follow = msg.new.ID // the cursor goes to the new version: its diff is the revert
			cmds = append(cmds, m.loadVersions(msg.c))
		}
		return m, tea.Batch(cmds...)
	case undoMsg:
		if msg.err != nil {
			m.conflict = m.explain(msg.tx, msg.err)
			m.status, m.statusErr = "", false
			return m, nil
		}
		m.conflict = nil
		m.status, m.statusErr = fmt.Sprintf("reverted tx %d as tx %d", msg.tx, msg.new.ID), false
		text := m.status
		return m, tea.Batch(m.load(0), func() tea.Msg { return common.InfoMsg{Text: text} })
	case tea.MouseClickMsg:
		if msg.Button == tea.MouseLeft && msg.Y >= 1 && msg.X < m.leftWidth() {
			i := m.off + msg.Y - 1
			switch m.mode {
			case modeList:
				if i < len(m.txs) {
					m.cursor = i
				}
			case modeVersions:
				if i := msg.Y - 1; i < len(m.versions) {
					m.vCursor, m.diffOff = i, 0
				}
			}
		}
		return m, nil
	case tea.MouseWheelMsg:
		d := 3
		if msg.Button == tea.MouseWheelUp {
			d = -3
		}
		if m.mode == modeVersions {
			m.diffOff = max(0, m.diffOff+d)
		} else {
			m.off = max(0, min(m.off+d, len(m.txs)-m.listHeight()))
		}
		return m, m.more()
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func touches(ev api.Event, oid uint64) bool {
	for _, r := range ev.Tx.Changed {
		if r.OID == oid {
			return true
		}
	}
	return false
}

// explain turns a failed revert into lines for the detail column: the
// error, and for an undo conflict the object and the later transaction
// that changed it since (from the list when it holds that transaction),
// with what to do about it.
func (m *Model) explain(tx uint64, err error) []string {
	lines := []string{fmt.Sprintf("cannot revert tx %d:", tx), common.Sanitize(err.Error())}
	var e *api.Error
	if !errors.As(err, &e) || e.Kind != api.ErrUndoConflict || e.ChangedBy == 0 {
		return lines
	}
	what := "an object it changed"
	if e.Object != nil {
		what = refName(common.SanitizeRef(*e.Object))
	}
	later := fmt.Sprintf("tx %d", e.ChangedBy)
	for _, t := range m.txs {
		if t.ID == e.ChangedBy {
			later = fmt.Sprintf("tx %d by %s: %s", t.ID, t.Principal, pane.FirstLine(t.Note))
		}
	}
	return append(lines,
		fmt.Sprintf("%s was changed since by %s", what, later),
		fmt.Sprintf("revert the transactions after tx %d first, newest first, or change it by hand", tx))
}

func refName(r api.Ref) string {
	if r.Name != "" {
		return r.Name
	}
	return fmt.Sprintf("object %d", r.OID)
}

// more loads the next page when the list's end is near.
func (m *Model) more() tea.Cmd {
	if m.loading || m.exhausted || len(m.txs) == 0 || m.off+m.listHeight() < len(m.txs)-5 && m.cursor < len(m.txs)-5 {
		return nil
	}
	m.loading = true
	return m.load(m.txs[len(m.txs)-1].ID)
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	if cmd, handled := m.confirm.Update(msg); handled {
		return cmd
	}
	m.status, m.statusErr = "", false
	switch m.mode {
	case modeChoose:
		switch {
		case key.Matches(msg, k.Down):
			m.choiceCursor = pane.Clamp(m.choiceCursor+1, len(m.choices))
		case key.Matches(msg, k.Up):
			m.choiceCursor = pane.Clamp(m.choiceCursor-1, len(m.choices))
		case key.Matches(msg, k.Open), key.Matches(msg, k.Versions):
			return m.loadVersions(m.choices[m.choiceCursor])
		case key.Matches(msg, k.Back):
			m.mode = modeList
		}
		return nil
	case modeVersions:
		switch {
		case key.Matches(msg, k.Down):
			m.vCursor, m.diffOff = pane.Clamp(m.vCursor+1, len(m.versions)), 0
		case key.Matches(msg, k.Up):
			m.vCursor, m.diffOff = pane.Clamp(m.vCursor-1, len(m.versions)), 0
		case key.Matches(msg, k.Top):
			m.vCursor, m.diffOff = 0, 0
		case key.Matches(msg, k.Bottom):
			m.vCursor, m.diffOff = pane.Clamp(len(m.versions)-1, len(m.versions)), 0
		case key.Matches(msg, k.Mark):
			if m.mark == m.vCursor {
				m.mark = -1
			} else {
				m.mark = m.vCursor
			}
		case msg.String() == "ctrl+d", msg.String() == "pgdown":
			m.diffOff += max(m.height/2, 1)
		case msg.String() == "ctrl+u", msg.String() == "pgup":
			m.diffOff = max(m.diffOff-max(m.height/2, 1), 0)
		case key.Matches(msg, k.RevertTo):
			m.askRevertTo()
		case key.Matches(msg, k.Full):
			if d := m.Diff(); d != "" {
				return common.Pager(fmt.Sprintf("%s › %s: diff", m.method.name, m.method.selector), d)
			}
		case key.Matches(msg, k.Back):
			m.mode = modeList
		}
		return nil
	}
	if c, ok := pane.Navigate(msg, pane.ListKeys{Down: k.Down, Up: k.Up, Top: k.Top, Bottom: k.Bottom}, m.cursor, len(m.txs)); ok {
		m.cursor = c
	}
	switch {
	case key.Matches(msg, k.Undo):
		if t, ok := m.selectedTx(); ok {
			m.conflict = nil
			m.confirm.Ask(fmt.Sprintf("revert tx %d (%s)?", t.ID, pane.FirstLine(t.Note)), func() tea.Cmd { return m.undo(t.ID) })
		}
		return nil
	case key.Matches(msg, k.Versions), key.Matches(msg, k.Open):
		return m.choose()
	}
	m.conflict = nil
	m.off = pane.Scroll(m.cursor, m.off, m.listHeight(), len(m.txs))
	return m.more()
}

// undo reverts transaction tx as a new one.
func (m *Model) undo(tx uint64) tea.Cmd {
	img := m.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		n, err := img.Undo(ctx, tx)
		return undoMsg{tx: tx, new: n, err: err}
	}
}

// askRevertTo asks whether to revert the method shown to the version under
// the cursor: to define it again with that version's source, as a new
// transaction (so that it is in the history, and can itself be undone).
// A version with no source (its transaction removed the method) is refused
// rather than offered as a removal: removing a method is the browser's d,
// and a revert that deletes would be a surprise. A version whose source is
// the current one is refused too: the define would change nothing.
func (m *Model) askRevertTo() {
	if m.vCursor >= len(m.versions) || m.vCursor >= len(m.raw) {
		return
	}
	c, v, src := m.method, m.versions[m.vCursor], m.raw[m.vCursor]
	switch {
	case src == "":
		m.status, m.statusErr = fmt.Sprintf("tx %d removed %s: no source to revert to (the browser's d removes a method)", v.Tx, c.selector), true
		return
	case src == m.raw[0]:
		m.status, m.statusErr = fmt.Sprintf("tx %d's %s is the current source: nothing to revert", v.Tx, c.selector), false
		return
	}
	m.confirm.Ask(fmt.Sprintf("revert %s › %s to its source of tx %d, as a new transaction?", c.name, c.selector, v.Tx), func() tea.Cmd {
		img := m.c.Image
		return func() tea.Msg {
			ctx, cancel := pane.Ctx()
			defer cancel()
			n, err := img.Define(ctx, c.oid, c.selector, src)
			return revertToMsg{c: c, tx: v.Tx, new: n, err: err}
		}
	})
}

// choose lists the methods the selected transaction changed: those its
// event named, the browser's selection, and the methods of each object it
// changed.
func (m *Model) choose() tea.Cmd {
	t, ok := m.selectedTx()
	if !ok {
		return nil
	}
	var first []choice
	for _, c := range m.changes[t.ID] {
		for _, s := range c.Slots {
			if s.Kind == api.KindMethod {
				first = append(first, choice{oid: c.Object.OID, name: c.Object.Name, selector: s.Name})
			}
		}
	}
	if m.context.Selector != "" {
		first = append(first, choice{oid: m.context.OID, name: fmt.Sprintf("object %d", m.context.OID), selector: m.context.Selector})
	}
	img := m.c.Image
	changed := t.Changed
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		out := first
		seen := map[choice]bool{}
		for _, c := range out {
			seen[choice{oid: c.oid, selector: c.selector}] = true
		}
		for i, r := range changed {
			if i >= 20 {
				break
			}
			v, err := img.Object(ctx, r.OID)
			if err != nil {
				continue // deleted since
			}
			for _, s := range v.Slots {
				if s.Kind == api.KindMethod && !seen[choice{oid: r.OID, selector: s.Name}] {
					seen[choice{oid: r.OID, selector: s.Name}] = true
					out = append(out, choice{oid: r.OID, name: common.Sanitize(v.Name), selector: s.Name})
				}
			}
		}
		return choicesMsg{tx: t.ID, choices: out}
	}
}

func (m *Model) loadVersions(c choice) tea.Cmd {
	img := m.c.Image
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		vers, err := img.Versions(ctx, c.oid, c.selector)
		raw := make([]string, len(vers))
		for i := range vers {
			raw[i] = vers[i].Source
			vers[i].Principal, vers[i].Source = common.Sanitize(vers[i].Principal), common.SanitizeSource(vers[i].Source)
		}
		return versionsMsg{c: c, vers: vers, raw: raw, err: err}
	}
}

// showVersions shows a method's versions. Reloaded versions of the method
// already shown keep the cursor and the mark on their transactions (a new
// version shifts them down), and the cursor goes to the version followed
// (a revert's) once it is listed.
func (m *Model) showVersions(msg versionsMsg) {
	txAt := func(i int) uint64 {
		if i >= 0 && i < len(m.versions) {
			return m.versions[i].Tx
		}
		return 0
	}
	same := m.mode == modeVersions && m.method == msg.c
	cur, mark := txAt(m.vCursor), txAt(m.mark)
	if !same {
		m.vCursor, m.mark, m.diffOff, m.follow = 0, -1, 0, 0
		cur, mark = 0, 0
	}
	m.mode, m.method, m.versions, m.raw = modeVersions, msg.c, msg.vers, msg.raw
	for _, v := range m.versions {
		if m.follow != 0 && v.Tx == m.follow {
			cur, mark, m.follow = v.Tx, 0, 0 // the mark is dropped: the diff shows the revert
		}
	}
	m.mark = -1
	for i, v := range m.versions {
		if cur != 0 && v.Tx == cur && i != m.vCursor {
			m.vCursor, m.diffOff = i, 0
		}
		if mark != 0 && v.Tx == mark {
			m.mark = i
		}
	}
	m.vCursor = pane.Clamp(m.vCursor, len(m.versions))
}

// diffPair returns the older and newer versions compared: the marked one
// and the cursor's, or the cursor's and the one before it.
func (m *Model) diffPair() (older, newer api.Version, ok bool) {
	if m.vCursor >= len(m.versions) {
		return older, newer, false
	}
	a := m.vCursor
	b := a + 1 // versions are newest first
	if m.mark >= 0 && m.mark != a {
		b = m.mark
	}
	if b >= len(m.versions) {
		return api.Version{}, m.versions[a], true // the first version: all added
	}
	if m.versions[a].Tx < m.versions[b].Tx {
		a, b = b, a
	}
	return m.versions[b], m.versions[a], true
}

// Diff returns the unified diff the pane shows.
func (m *Model) Diff() string {
	older, newer, ok := m.diffPair()
	if !ok {
		return ""
	}
	from := "(none)"
	if older.Tx != 0 {
		from = fmt.Sprintf("tx %d", older.Tx)
	}
	return udiff.Unified(from, fmt.Sprintf("tx %d", newer.Tx), withNewline(older.Source), withNewline(newer.Source))
}

func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// --- view -------------------------------------------------------------------

func (m *Model) leftWidth() int { return max(m.width*45/100, 20) }

func (m *Model) View() string {
	lw := m.leftWidth()
	rw := m.width - lw - 1
	h := m.height - 1
	var left, right []string
	switch m.mode {
	case modeVersions:
		left, right = m.versionsView(lw, h), m.diffView(rw, h)
	case modeChoose:
		left, right = m.listView(lw, h), m.chooseView(rw, h)
	default:
		left, right = m.listView(lw, h), m.detailView(rw, h)
	}
	rows := pane.Join(m.c.Styles.Dim.Render("│"), pane.Block(left, lw, h), pane.Block(right, rw, h))
	return strings.Join(append(rows, pane.Fit(m.footer(), m.width)), "\n")
}

func (m *Model) row(text string, selected bool, w int) string {
	if !selected {
		return pane.Fit(" "+text, w)
	}
	r := pane.Fit("›"+ansi.Strip(text), w)
	if m.focus {
		return m.c.Styles.Selected.Render(r)
	}
	return lipgloss.NewStyle().Bold(true).Render(r)
}

func (m *Model) listView(w, h int) []string {
	st := m.c.Styles
	out := []string{st.Title.Render(pane.Fit(" Transactions, newest first", w))}
	end := min(m.off+h-1, len(m.txs))
	for i := m.off; i < end; i++ {
		t := m.txs[i]
		text := fmt.Sprintf("%4d %s %s %s", t.ID, st.Dim.Render(m.formatTime(t.Time)),
			st.Principal(t.Principal).Render(t.Principal), pane.FirstLine(t.Note))
		out = append(out, m.row(text, i == m.cursor, w))
	}
	if m.loading {
		out = append(out, st.Dim.Render(" loading…"))
	}
	return out
}

func (m *Model) detailView(w, h int) []string {
	st := m.c.Styles
	t, ok := m.selectedTx()
	if !ok {
		return []string{st.Dim.Render(" no transactions")}
	}
	out := []string{
		st.Title.Render(fmt.Sprintf(" tx %d", t.ID)) + " " + st.Dim.Render(m.formatTime(t.Time)),
		" principal  " + st.Principal(t.Principal).Render(t.Principal),
	}
	for i, l := range strings.Split(t.Note, "\n") {
		label := "           "
		if i == 0 {
			label = " note      "
		}
		out = append(out, label+l)
	}
	// Why the last revert could not apply comes before the (possibly long)
	// list of changes, so that it is on screen.
	if m.conflict != nil {
		out = append(out, "")
		for _, l := range m.conflict {
			out = append(out, st.Error.Render(" "+l))
		}
	}
	out = append(out, "", st.Dim.Render(fmt.Sprintf(" changed %d object(s)", len(t.Changed))))
	byObject := map[uint64][]api.SlotChange{}
	for _, c := range m.changes[t.ID] {
		byObject[c.Object.OID] = c.Slots
	}
	for _, r := range t.Changed {
		out = append(out, "  "+refName(r))
		for _, s := range byObject[r.OID] {
			out = append(out, st.Dim.Render(fmt.Sprintf("    %s %s %s", s.Op, s.Kind, s.Name)))
		}
	}
	return out
}

func (m *Model) chooseView(w, h int) []string {
	st := m.c.Styles
	out := []string{st.Title.Render(" Versions of which method? (enter)")}
	for i, c := range m.choices {
		out = append(out, m.row(c.name+" › "+c.selector, i == m.choiceCursor, w))
	}
	return out
}

func (m *Model) versionsView(w, h int) []string {
	st := m.c.Styles
	out := []string{st.Title.Render(pane.Fit(fmt.Sprintf(" %s › %s: %d versions", m.method.name, m.method.selector, len(m.versions)), w))}
	for i, v := range m.versions {
		mark := " "
		if i == m.mark {
			mark = "*"
		}
		what := fmt.Sprintf("%d lines", strings.Count(v.Source, "\n")+1)
		if v.Source == "" {
			what = "removed"
		}
		text := fmt.Sprintf("%s tx %d %s %s %s", mark, v.Tx, st.Dim.Render(m.formatTime(v.Time)), st.Principal(v.Principal).Render(v.Principal), what)
		out = append(out, m.row(text, i == m.vCursor, w))
	}
	return out
}

func (m *Model) diffView(w, h int) []string {
	st := m.c.Styles
	d := m.Diff()
	if d == "" {
		return []string{st.Dim.Render(" no difference")}
	}
	lines := strings.Split(strings.TrimRight(d, "\n"), "\n")
	off := min(m.diffOff, max(len(lines)-1, 0))
	var out []string
	for _, l := range lines[off:] {
		l = strings.ReplaceAll(l, "\t", "    ")
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			out = append(out, st.Title.Render(l))
		case strings.HasPrefix(l, "@@"):
			out = append(out, st.Dim.Render(l))
		case strings.HasPrefix(l, "+"):
			out = append(out, st.Info.Render(l))
		case strings.HasPrefix(l, "-"):
			out = append(out, st.Error.Render(l))
		default:
			out = append(out, l)
		}
	}
	return out
}

func (m *Model) footer() string {
	st := m.c.Styles
	switch {
	case m.confirm.Asking():
		return st.Error.Render(m.confirm.Question())
	case m.status != "" && m.statusErr:
		return st.Error.Render(m.status)
	case m.status != "":
		return st.Info.Render(m.status)
	case m.mode == modeVersions:
		return st.Dim.Render("j/k version · space mark the version to diff against · r revert to it · esc back")
	}
	return st.Dim.Render(fmt.Sprintf("%d transactions · v method versions · u revert", len(m.txs)))
}

// sanitizeChanges returns a sanitized copy of a commit's changes: names,
// and each slot's before and after.
func sanitizeChanges(in []api.Change) []api.Change {
	if in == nil {
		return nil
	}
	out := make([]api.Change, len(in))
	for i, c := range in {
		c.Object = common.SanitizeRef(c.Object)
		slots := make([]api.SlotChange, len(c.Slots))
		for j, s := range c.Slots {
			s.Name, s.Before, s.After = common.Sanitize(s.Name), common.SanitizeSource(s.Before), common.SanitizeSource(s.After)
			slots[j] = s
		}
		c.Slots = slots
		out[i] = c
	}
	return out
}

// MaxChanges caps how many transactions' changes (from live events) the
// pane keeps; older ones are dropped, oldest first.
const MaxChanges = 1000

// keepChanges records a commit's changes, dropping the oldest beyond
// MaxChanges (in chunks, so that it costs O(1) per commit).
func (m *Model) keepChanges(tx uint64, changes []api.Change) {
	if _, ok := m.changes[tx]; !ok {
		m.changeIDs = append(m.changeIDs, tx)
	}
	m.changes[tx] = changes
	if len(m.changeIDs) > MaxChanges+MaxChanges/10 {
		drop := len(m.changeIDs) - MaxChanges
		for _, id := range m.changeIDs[:drop] {
			delete(m.changes, id)
		}
		m.changeIDs = append([]uint64(nil), m.changeIDs[drop:]...)
	}
}
