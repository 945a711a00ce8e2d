package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// Panes are the seven panes the app lays out. Forge and Entropy share the
// transcript's place: the one of the three focused last is drawn there.
type Panes struct {
	Browser, Inspector, Workspace, Transcript, History common.Pane
	// Forge is the Forge pane; nil: the default one (tui/forge).
	Forge common.Pane
	// Entropy is the Entropy pane; nil: the default one (tui/entropy).
	Entropy common.Pane
}

// Options configure the app.
type Options struct {
	// StatusEvery is how often the status bar polls api.Image.Status
	// (default 3 s; negative: only once, at start).
	StatusEvery time.Duration
	// Panes replaces the default panes (tests).
	Panes *Panes
	// OnFirstView is called once, when the first frame is rendered
	// (start-up measurements).
	OnFirstView func()
	// InfoTimeout is how long a line of information (not an error) stays
	// on the info line when no key clears it first (default 8 s;
	// negative: until the next key).
	InfoTimeout time.Duration
}

// Pane indexes, in tab order (the visual order: top row, then bottom).
const (
	browserPane = iota
	inspectorPane
	historyPane
	workspacePane
	transcriptPane
	forgePane   // drawn in the transcript's place while it was focused last
	entropyPane // likewise
	paneCount
)

// sharesPlace reports whether pane i is one of those drawn in the
// transcript's place: the transcript, the Forge and the Entropy pane.
func sharesPlace(i int) bool {
	return i == transcriptPane || i == forgePane || i == entropyPane
}

// overlay is what covers the panes, if anything.
type overlay int

const (
	noOverlay overlay = iota
	helpOverlay
	commandOverlay
	searchOverlay
	confirmQuitOverlay
	pagerOverlay
)

// rect is a pane's box on screen.
type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool { return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h }

// eventMsg and eventsClosedMsg carry the subscription.
type eventsClosedMsg struct{}

// Model is the root model.
type Model struct {
	c     *common.Common
	opts  Options
	keys  KeyMap
	panes [paneCount]common.Pane
	rects [paneCount]rect
	focus int
	// shown is the pane drawn in the place the transcript, the Forge
	// and the Entropy pane share: the one of them focused last.
	shown int
	// zoomed is set while the focused pane fills all the space above the
	// info line (the Zoom key toggles it); the zoom follows the focus.
	zoomed bool

	width, height int
	profile       colorprofile.Profile

	status    api.Status
	statusErr error
	// statusSeq numbers the status requests; statusShown is the number
	// of the answer shown, so that an older answer arriving later is not.
	statusSeq, statusShown int
	// refreshing is set while an extra status request (not the poll's)
	// runs; refreshAgain when another was asked meanwhile.
	refreshing, refreshAgain bool
	// forgeOID is Lobby.Forge (0: none known), forgeStates the last state
	// each Forge job in flight was heard in: a commit to the first, and
	// a Forge event with a new state, refresh the status's job counts.
	forgeOID    uint64
	forgeStates map[int]string
	// entropyOID is Lobby.entropy (0: none known): a commit to it, or
	// one by the entropy recorder, refreshes the status's CEM.
	entropyOID uint64
	// autotelicOID is Lobby.autotelic (0: none known): a commit to it
	// refreshes the status's autotelic switch.
	autotelicOID uint64

	// info is the info line's message (infoErr: an error), "" when it
	// was cleared; infoSeq numbers the messages, so that the timeout of
	// an older one does not clear a newer. lastInfo and lastInfoErr keep
	// the last message after it is cleared, for the LastInfo key.
	info        string
	infoErr     bool
	infoSeq     int
	lastInfo    string
	lastInfoErr bool
	spin        spinner.Model
	spinning    bool

	overlay   overlay
	help      help.Model
	pager     pager
	cmdIn     textinput.Model
	lobbyKids []string
	searchIn  textinput.Model
	searchSeq int
	hits      []api.Hit
	// hitsFor is the query hits answer.
	hitsFor   string
	hitSel    int
	searchErr error
	// searchCancel cancels the search in flight.
	searchCancel context.CancelFunc
	// inspectCancel cancels the :inspect in flight (nil: none).
	inspectCancel context.CancelFunc
	inspectSeq    int
	// quitConfirm is the quit overlay's question (y or ctrl+c quits; n,
	// esc or q stays).
	quitConfirm pane.Confirm
	// feedLost is set when the live event feed closed for good (not
	// after an EventMissed, which the app answers by resubscribing).
	feedLost bool

	events      <-chan api.Event
	unsubscribe func()
	firstView   bool
}

// New returns the root model over c.Image.
func New(c *common.Common, opts Options) *Model {
	if c.Styles == nil {
		c.Styles = common.DefaultStyles()
	}
	if opts.StatusEvery == 0 {
		opts.StatusEvery = 3 * time.Second
	}
	if opts.InfoTimeout == 0 {
		opts.InfoTimeout = defaultInfoTimeout
	}
	ps := opts.Panes
	if ps == nil {
		d := defaultPanes(c)
		ps = &d
	}
	forge := ps.Forge
	if forge == nil {
		forge = defaultForge(c)
	}
	entropy := ps.Entropy
	if entropy == nil {
		entropy = defaultEntropy(c)
	}
	m := &Model{c: c, opts: opts, keys: DefaultKeyMap(), help: help.New(), pager: newPager(), shown: transcriptPane, forgeStates: map[int]string{}}
	m.panes = [paneCount]common.Pane{ps.Browser, ps.Inspector, ps.History, ps.Workspace, ps.Transcript, forge, entropy}
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	m.cmdIn = textinput.New()
	m.cmdIn.Prompt = ":"
	m.cmdIn.ShowSuggestions = true
	m.searchIn = textinput.New()
	m.searchIn.Prompt = "/ "
	m.searchIn.Placeholder = "object or selector"
	m.help.ShowAll = true
	return m
}

// eventBuffer is how many events the subscription holds before the image
// drops it (see resubscribe).
const eventBuffer = 1024

// Init subscribes to the image's events, starts the status poll and the
// panes.
func (m *Model) Init() tea.Cmd {
	m.events, m.unsubscribe = m.c.Image.Subscribe(eventBuffer)
	cmds := []tea.Cmd{waitEvent(m.events), m.statusCmd(true), lobbySlotsCmd(m.c.Image)}
	for _, p := range m.panes {
		cmds = append(cmds, p.Init())
	}
	cmds = append(cmds, m.panes[m.focus].Focus())
	return tea.Batch(cmds...)
}

// Close ends the event subscription; Run calls it when the program ends.
func (m *Model) Close() {
	if m.unsubscribe != nil {
		m.unsubscribe()
	}
}

func waitEvent(ch <-chan api.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{}
		}
		return common.EventMsg{Event: ev}
	}
}

// Focused returns the focused pane's title.
func (m *Model) Focused() string { return m.panes[m.focus].Title() }

// Pane returns the pane with title, or nil.
func (m *Model) Pane(title string) common.Pane {
	for _, p := range m.panes {
		if p.Title() == title {
			return p
		}
	}
	return nil
}

func (m *Model) setFocus(i int) tea.Cmd {
	if sharesPlace(i) {
		m.shown = i
	}
	if i == m.focus {
		return nil
	}
	m.panes[m.focus].Blur()
	m.focus = i
	if m.zoomed {
		m.resize(m.width, m.height) // the zoom follows the focus
	}
	return m.panes[i].Focus()
}

// hidden reports whether pane i is not drawn: while zoomed, every pane
// but the focused one; else those of the transcript, the Forge and the
// Entropy pane that are not shown in the place they share.
func (m *Model) hidden(i int) bool {
	if m.zoomed {
		return i != m.focus
	}
	return sharesPlace(i) && i != m.shown
}

// Zoomed reports whether the focused pane is zoomed to fill the screen.
func (m *Model) Zoomed() bool { return m.zoomed }

func (m *Model) focusTitle(title string) tea.Cmd {
	for i, p := range m.panes {
		if p.Title() == title {
			return m.setFocus(i)
		}
	}
	return nil
}

// busy is true while a pane, or a :inspect, runs long work.
func (m *Model) busy() bool {
	if m.inspectCancel != nil {
		return true
	}
	for _, p := range m.panes {
		if b, ok := p.(common.Busy); ok && b.Busy() {
			return true
		}
	}
	return false
}

// update sends msg to pane i.
func (m *Model) update(i int, msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.panes[i], cmd = m.panes[i].Update(msg)
	// A pane that asked to show something elsewhere (Common.Navigate)
	// has it shown, and that pane focused, now: before the next key.
	for _, nav := range m.c.TakeNavigations() {
		cmd = tea.Batch(cmd, m.handle(nav))
	}
	return cmd
}

func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, paneCount)
	for i := range m.panes {
		cmds = append(cmds, m.update(i, msg))
	}
	return tea.Batch(cmds...)
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.handle(msg)
	if _, ok := msg.(tea.KeyPressMsg); !ok {
		cmd = tea.Batch(cmd, m.requestion())
	}
	// Keep the status spinner turning while a pane is busy.
	if m.busy() && !m.spinning {
		m.spinning = true
		cmd = tea.Batch(cmd, m.spin.Tick)
	}
	return m, cmd
}

func (m *Model) handle(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return nil
	case tea.ColorProfileMsg:
		m.profile = msg.Profile
		return nil
	case spinner.TickMsg:
		if msg.ID == m.spin.ID() {
			if !m.busy() {
				m.spinning = false
				return nil
			}
			var cmd tea.Cmd
			m.spin, cmd = m.spin.Update(msg)
			return cmd
		}
		return m.broadcast(msg)
	case common.EventMsg:
		switch ev := msg.Event; {
		case ev.Type == api.EventCommit && ev.Tx != nil:
			m.status.LastTx = common.SanitizeTx(*ev.Tx)
		case ev.Type == api.EventMissed:
			return m.resubscribe(msg)
		}
		var refresh tea.Cmd
		// forgeChanged first: it keeps the jobs' states, so it must see
		// every event.
		if m.forgeChanged(msg.Event) || m.entropyChanged(msg.Event) || m.autotelicChanged(msg.Event) {
			refresh = m.refreshStatus()
		}
		return tea.Batch(m.broadcast(msg), waitEvent(m.events), refresh)
	case eventsClosedMsg:
		m.feedLost = true
		return nil
	case statusMsg:
		if msg.seq >= m.statusShown {
			m.statusShown = msg.seq
			if msg.err != nil {
				m.statusErr = msg.err
			} else {
				last := m.status.LastTx
				m.status, m.statusErr = sanitizeStatus(msg.st), nil
				// A status read before a commit that the live feed has
				// shown since must not take the bar back to an older one.
				if last.ID > m.status.LastTx.ID {
					m.status.LastTx = last
				}
			}
		}
		if !msg.poll {
			return m.refreshed()
		}
		return statusTick(m.opts.StatusEvery)
	case statusTickMsg:
		return m.statusCmd(true)
	case lobbySlotsMsg:
		m.lobbyKids = msg.names
		if msg.forge != 0 {
			m.forgeOID = msg.forge
		}
		if msg.entropy != 0 {
			m.entropyOID = msg.entropy
		}
		if msg.autotelic != 0 {
			m.autotelicOID = msg.autotelic
		}
		m.cmdIn.SetSuggestions(suggestions(msg.names))
		return nil
	case searchDueMsg:
		return m.searchDue(msg)
	case searchResultMsg:
		if msg.seq == m.searchSeq {
			m.cancelSearch() // done: release its context
			m.hits, m.searchErr, m.hitSel, m.hitsFor = msg.hits, msg.err, 0, msg.query
		}
		return nil
	case inspectDoneMsg:
		if msg.seq != m.inspectSeq {
			return nil // superseded or cancelled
		}
		m.cancelInspect()
		return m.deliver(inspectorPane, msg.msg)
	case browseDoneMsg:
		return m.deliver(browserPane, msg.msg)
	case common.ErrMsg:
		if msg.Err != nil {
			return m.setInfo(msg.Err.Error(), true)
		}
		return nil
	case common.InfoMsg:
		return m.setInfo(msg.Text, false)
	case infoExpiredMsg:
		if msg.seq == m.infoSeq && !m.infoErr {
			m.info = ""
		}
		return nil
	case common.PagerMsg:
		m.openPager(msg.Title, msg.Text)
		return nil
	case common.BrowseMsg:
		return tea.Batch(m.update(browserPane, msg), m.setFocus(browserPane))
	case common.InspectMsg, common.InspectValueMsg:
		return tea.Batch(m.update(inspectorPane, msg), m.setFocus(inspectorPane))
	case common.FocusMsg:
		return m.focusTitle(msg.Title)
	case quitMsg:
		return m.quit()
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseClickMsg:
		return m.mouse(msg, msg.Mouse(), true)
	case tea.MouseWheelMsg:
		return m.mouse(msg, msg.Mouse(), false)
	case tea.MouseMsg:
		return nil // motion and release: panes do not use them
	case tea.PasteMsg:
		switch m.overlay {
		case commandOverlay:
			var cmd tea.Cmd
			m.cmdIn, cmd = m.cmdIn.Update(msg)
			return cmd
		case searchOverlay:
			before := m.searchIn.Value()
			var cmd tea.Cmd
			m.searchIn, cmd = m.searchIn.Update(msg)
			return tea.Batch(cmd, m.searchChanged(before))
		case noOverlay:
			return m.update(m.focus, msg)
		}
		return nil
	}
	return m.broadcast(msg)
}

// deliver routes what a command line or search's image call answered:
// an object to show goes to pane i, without moving the focus, which the
// command moved to pane i when it ran (the person may have moved it on
// since); an error or information goes to the info line.
func (m *Model) deliver(i int, msg tea.Msg) tea.Cmd {
	switch msg.(type) {
	case common.BrowseMsg, common.InspectMsg, common.InspectValueMsg:
		return m.update(i, msg)
	case nil:
		return nil
	}
	return m.handle(msg)
}

// resubscribe answers an EventMissed: the image dropped the subscription
// (it fell behind; its channel closes after this event), so the app
// subscribes again, tells the panes (the transcript marks the gap) and has
// them reload what the missed commits may have changed, and says so.
func (m *Model) resubscribe(missed common.EventMsg) tea.Cmd {
	if m.unsubscribe != nil {
		m.unsubscribe()
	}
	m.events, m.unsubscribe = m.c.Image.Subscribe(eventBuffer)
	info := m.setInfo(fmt.Sprintf("the live feed fell behind and missed %d events: resubscribed, views refreshed", missed.Event.Missed), false)
	return tea.Batch(m.broadcast(missed), m.broadcast(common.RefreshMsg{}), m.refreshStatus(), waitEvent(m.events), info)
}

// quit quits, or asks first when a pane holds an unsaved edit or runs
// long work (an evaluation), which quitting cancels.
func (m *Model) quit() tea.Cmd {
	if why := m.quitReasons(); len(why) > 0 {
		m.quitConfirm.Keys = quitKeys
		m.quitConfirm.Ask(strings.Join(why, "; ")+": quit anyway?", m.quitNow)
		m.overlay = confirmQuitOverlay
		return nil
	}
	return m.quitNow()
}

// quitReasons lists why quitting asks first: an unsaved edit, long work
// in progress.
func (m *Model) quitReasons() []string {
	var why []string
	for _, p := range m.panes {
		if p.Dirty() {
			why = append(why, "unsaved edit in "+p.Title())
			break
		}
	}
	for _, p := range m.panes {
		if b, ok := p.(common.Busy); ok && b.Busy() {
			why = append(why, p.Title()+" is still working (quitting cancels it)")
			break
		}
	}
	return why
}

// requestion keeps the quit question up to date while it is asked: work
// that ends (an evaluation whose input is now recorded) takes its reason
// away, and when none is left the quit that was asked for goes ahead.
func (m *Model) requestion() tea.Cmd {
	if m.overlay != confirmQuitOverlay {
		return nil
	}
	why := m.quitReasons()
	if len(why) == 0 {
		m.overlay = noOverlay
		m.quitConfirm.Cancel()
		return m.quitNow()
	}
	m.quitConfirm.SetQuestion(strings.Join(why, "; ") + ": quit anyway?")
	return nil
}

// quitKeys answer the quit question: ctrl+c, which asked it, confirms.
var quitKeys = pane.ConfirmKeys{
	Yes: key.NewBinding(key.WithKeys("y", "Y", "ctrl+c"), key.WithHelp("y", "quit")),
	No:  key.NewBinding(key.WithKeys("n", "N", "esc", "q"), key.WithHelp("n", "stay")),
}

// quitNow cancels all work in flight and quits.
func (m *Model) quitNow() tea.Cmd {
	m.cancelSearch()
	m.cancelInspect()
	for _, p := range m.panes {
		if c, ok := p.(common.Canceller); ok {
			if b, ok := p.(common.Busy); !ok || b.Busy() {
				c.Cancel()
			}
		}
	}
	return tea.Quit
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	// Any key the person types clears the info line's message (the key
	// that shows it in full aside): it was there to be read before it.
	if !key.Matches(msg, m.keys.LastInfo) {
		m.info = ""
	}
	switch m.overlay {
	case confirmQuitOverlay:
		cmd, _ := m.quitConfirm.Update(msg)
		if !m.quitConfirm.Asking() {
			m.overlay = noOverlay
		}
		return cmd
	case pagerOverlay:
		if key.Matches(msg, m.keys.ForceQuit) {
			m.overlay = noOverlay
			return m.quit()
		}
		if m.pager.update(msg) {
			m.overlay = noOverlay
		}
		return nil
	case helpOverlay:
		if key.Matches(msg, m.keys.ForceQuit) {
			return m.quit()
		}
		if msg.String() == "esc" || msg.String() == "q" || key.Matches(msg, m.keys.Help) {
			m.overlay = noOverlay
		}
		return nil
	case commandOverlay:
		switch msg.String() {
		case "esc":
			m.overlay = noOverlay
			m.cmdIn.Blur()
			return nil
		case "ctrl+c":
			m.overlay = noOverlay
			m.cmdIn.Blur()
			return m.quit()
		case "enter":
			line := m.cmdIn.Value()
			m.overlay = noOverlay
			m.cmdIn.Blur()
			m.cmdIn.SetValue("")
			return m.runCommand(line)
		}
		var cmd tea.Cmd
		m.cmdIn, cmd = m.cmdIn.Update(msg)
		return cmd
	case searchOverlay:
		switch msg.String() {
		case "esc":
			m.overlay = noOverlay
			m.searchIn.Blur()
			m.cancelSearch()
			return nil
		case "ctrl+c":
			m.overlay = noOverlay
			m.searchIn.Blur()
			m.cancelSearch()
			return m.quit()
		case "enter":
			return m.searchEnter()
		case "up", "ctrl+p", "ctrl+k":
			m.hitSel = max(m.hitSel-1, 0)
			return nil
		case "down", "ctrl+n", "ctrl+j":
			m.hitSel = min(m.hitSel+1, max(len(m.hits)-1, 0))
			return nil
		}
		before := m.searchIn.Value()
		var cmd tea.Cmd
		m.searchIn, cmd = m.searchIn.Update(msg)
		return tea.Batch(cmd, m.searchChanged(before))
	}

	if msg.String() == "esc" && m.inspectCancel != nil {
		m.cancelInspect()
		m.inspectSeq++ // its answer, if any comes, is dropped
		return m.setInfo(":inspect cancelled", false)
	}

	editing := m.panes[m.focus].Editing()
	switch {
	case key.Matches(msg, m.keys.ForceQuit):
		return m.quit()
	case msg.String() == "f1":
		m.overlay = helpOverlay
		return nil
	case key.Matches(msg, m.keys.LastInfo):
		m.showLastInfo()
		return nil
	case key.Matches(msg, m.keys.PrevPane):
		return m.setFocus((m.focus + paneCount - 1) % paneCount)
	}
	if !editing {
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m.quit()
		case key.Matches(msg, m.keys.Help):
			m.overlay = helpOverlay
			return nil
		case key.Matches(msg, m.keys.NextPane):
			return m.setFocus((m.focus + 1) % paneCount)
		case key.Matches(msg, m.keys.Zoom):
			m.zoomed = !m.zoomed
			m.resize(m.width, m.height)
			return nil
		case key.Matches(msg, m.keys.Command):
			m.overlay = commandOverlay
			m.cmdIn.SetValue("")
			return tea.Batch(m.cmdIn.Focus(), lobbySlotsCmd(m.c.Image))
		case key.Matches(msg, m.keys.Search):
			m.overlay = searchOverlay
			m.searchIn.SetValue("")
			m.hits, m.searchErr, m.hitsFor = nil, nil, ""
			return m.searchIn.Focus()
		}
	}
	return m.update(m.focus, msg)
}

// mouse focuses (on a click) and forwards to the pane under the pointer,
// with coordinates relative to its content.
func (m *Model) mouse(msg tea.Msg, mo tea.Mouse, click bool) tea.Cmd {
	if m.overlay == pagerOverlay && !click {
		m.pager.update(msg) // the wheel scrolls the pager
		return nil
	}
	if m.overlay != noOverlay {
		return nil
	}
	if click {
		m.info = "" // a click is read as a key: the message was seen
	}
	for i, r := range m.rects {
		if m.hidden(i) || !r.contains(mo.X, mo.Y) {
			continue
		}
		var cmd tea.Cmd
		if click {
			cmd = m.setFocus(i)
		}
		mo.X, mo.Y = mo.X-r.x-1, mo.Y-r.y-1
		switch msg.(type) {
		case tea.MouseClickMsg:
			msg = tea.MouseClickMsg(mo)
		case tea.MouseWheelMsg:
			msg = tea.MouseWheelMsg(mo)
		}
		return tea.Batch(cmd, m.update(i, msg))
	}
	return nil
}

// resize lays the panes out for a width×height terminal.
func (m *Model) resize(width, height int) {
	m.width, m.height = width, height
	bodyH := max(height-2, 2) // the info line and the status bar
	topH := max(bodyH*11/20, 1)
	botH := max(bodyH-topH, 1)
	bw := width / 2
	iw := (width - bw) / 2
	hw := width - bw - iw
	ww := width / 2
	tw := width - ww
	m.rects[browserPane] = rect{0, 0, bw, topH}
	m.rects[inspectorPane] = rect{bw, 0, iw, topH}
	m.rects[historyPane] = rect{bw + iw, 0, hw, topH}
	m.rects[workspacePane] = rect{0, topH, ww, botH}
	m.rects[transcriptPane] = rect{ww, topH, tw, botH}
	m.rects[forgePane] = m.rects[transcriptPane]
	m.rects[entropyPane] = m.rects[transcriptPane]
	if m.zoomed {
		// The focused pane takes the whole body; the others keep their
		// sizes for when the layout is restored, but are not drawn.
		m.rects[m.focus] = rect{0, 0, width, bodyH}
	}
	for i, r := range m.rects {
		m.panes[i].SetSize(max(r.w-2, 0), max(r.h-2, 0))
	}
	m.help.SetWidth(max(width-6, 10))
	m.cmdIn.SetWidth(max(width-2, 10))
	m.searchIn.SetWidth(max(width/2-6, 10))
	// The pager's box leaves two columns each side, and the info line
	// and the status bar; its content is within a border and a column of
	// padding, over a title and a footer line.
	m.pager.setSize(pagerWidth(width)-4, max(height-2, 5)-4)
}

// pagerWidth is the pager's box's width in a terminal width wide.
func pagerWidth(width int) int {
	if width >= 40 {
		return width - 4
	}
	return max(width, 6)
}

// View implements tea.Model.
func (m *Model) View() tea.View {
	if !m.firstView {
		m.firstView = true
		if m.opts.OnFirstView != nil {
			m.opts.OnFirstView()
		}
	}
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "batos"
	return v
}

// Render draws the whole screen as a string.
func (m *Model) Render() string {
	if m.width <= 0 || m.height <= 0 {
		return "batos: starting…"
	}
	if m.height < 3 {
		// No room for the panes: only the status line, cut to width.
		return m.c.Styles.StatusBar.Render(common.FitLine(m.statusLine(), m.width))
	}
	rows := make([]string, m.height)
	for i := range rows {
		rows[i] = ""
	}
	// Panes are drawn row by row, left to right.
	boxes := [paneCount][]string{}
	for i, p := range m.panes {
		if !m.hidden(i) {
			boxes[i] = m.box(p, m.rects[i], i == m.focus)
		}
	}
	for y := 0; y < m.height-2; y++ {
		var line strings.Builder
		for i, r := range m.rects {
			if !m.hidden(i) && y >= r.y && y < r.y+r.h && r.w > 0 {
				line.WriteString(boxes[i][y-r.y])
			}
		}
		rows[y] = line.String()
	}
	rows[m.height-2] = m.infoLine()
	rows[m.height-1] = m.c.Styles.StatusBar.Render(common.FitLine(m.statusLine(), m.width))
	screen := strings.Join(rows, "\n")
	if ov := m.overlayBox(); ov != "" {
		w, h := lipgloss.Width(ov), lipgloss.Height(ov)
		x, y := max((m.width-w)/2, 0), max((m.height-h)/3, 0)
		if m.overlay == commandOverlay {
			x, y = 0, m.height-2-h+1
		}
		// A layer composed on a canvas by itself is drawn over the whole
		// canvas, its position ignored (and the cells it does not cover
		// cleared): only a compositor places layers where they say.
		c := lipgloss.NewCanvas(m.width, m.height)
		c.Compose(lipgloss.NewCompositor(
			lipgloss.NewLayer(screen),
			lipgloss.NewLayer(ov).X(x).Y(max(y, 0)).Z(1),
		))
		screen = c.Render()
	}
	return screen
}

// infoLine is the error or information line, or the focused pane's short
// help.
func (m *Model) infoLine() string {
	st := m.c.Styles
	switch {
	case m.overlay == commandOverlay:
		return common.FitLine(m.cmdIn.View(), m.width)
	case m.info != "" && m.infoErr:
		return m.infoCut(st.Error, "✗ "+m.info)
	case m.info != "":
		return m.infoCut(st.Info, "• "+m.info)
	case m.statusErr != nil:
		return common.FitLine(st.Error.Render("✗ status: "+common.Sanitize(m.statusErr.Error())), m.width)
	}
	p := m.panes[m.focus]
	global := m.keys.ShortHelp()
	if p.Editing() {
		global = m.keys.EditingHelp() // ?, :, /, q and tab are typed then
	}
	bindings := append(p.ShortHelp(), global...)
	return common.FitLine(m.help.ShortHelpView(bindings), m.width)
}

// infoCut draws a message on the info line in style, cut to one line:
// the LastInfo key shows it in full.
func (m *Model) infoCut(style lipgloss.Style, text string) string {
	return common.FitLine(style.Render(strings.ReplaceAll(text, "\n", " ⏎ ")), m.width)
}

// box draws pane p in r: a border with its title, thick when focused (so
// that focus shows without colour too).
func (m *Model) box(p common.Pane, r rect, focused bool) []string {
	if r.w < 2 || r.h < 2 {
		return make([]string, max(r.h, 0))
	}
	b := lipgloss.RoundedBorder()
	style := m.c.Styles.Blurred
	title := " " + p.Title() + " "
	if focused {
		b = lipgloss.ThickBorder()
		style = m.c.Styles.Focused
		title = "[" + p.Title() + "]"
	}
	color := lipgloss.NewStyle().Foreground(style.GetBorderTopForeground())
	inner := r.w - 2
	title = ansiCut(title, max(inner-1, 0))
	topFill := max(inner-1-lipgloss.Width(title), 0)
	titleStyle := m.c.Styles.Title
	if !focused {
		titleStyle = m.c.Styles.Dim
	}
	lines := make([]string, 0, r.h)
	lines = append(lines, color.Render(b.TopLeft+b.Top)+titleStyle.Render(title)+color.Render(strings.Repeat(b.Top, topFill)+b.TopRight))
	if r.h-2 > 0 {
		body := strings.Split(common.Fit(p.View(), inner, r.h-2), "\n")
		for _, l := range body {
			lines = append(lines, color.Render(b.Left)+l+color.Render(b.Right))
		}
	}
	for len(lines) < r.h-1 {
		lines = append(lines, color.Render(b.Left)+strings.Repeat(" ", inner)+color.Render(b.Right))
	}
	lines = append(lines, color.Render(b.BottomLeft+strings.Repeat(b.Bottom, inner)+b.BottomRight))
	return lines
}

func ansiCut(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return common.FitLine(s, w)
}

// overlayBox renders the current overlay, or "".
func (m *Model) overlayBox() string {
	st := m.c.Styles
	frame := lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).BorderForeground(st.Focused.GetBorderTopForeground()).Padding(0, 1)
	switch m.overlay {
	case helpOverlay:
		p := m.panes[m.focus]
		var b strings.Builder
		b.WriteString(st.Title.Render(p.Title()+" keys") + "\n")
		if len(p.FullHelp()) == 0 {
			b.WriteString(st.Dim.Render("(none)") + "\n")
		} else {
			b.WriteString(m.help.FullHelpView(p.FullHelp()) + "\n")
		}
		b.WriteString("\n" + st.Title.Render("Global keys") + "\n")
		b.WriteString(m.help.FullHelpView(m.keys.FullHelp()) + "\n")
		// The commands and the pager's keys wrap rather than be cut at
		// the terminal's edge.
		wrapW := max(m.width-6, 20)
		b.WriteString("\n" + st.Dim.Render(ansi.Wordwrap("commands: "+commandsHelp, wrapW, "")))
		b.WriteString("\n" + st.Dim.Render(ansi.Wordwrap("in a pager (ctrl+l, :help, a pane's full view): "+pagerHelp, wrapW, "")))
		b.WriteString("\n" + st.Dim.Render("esc or ? closes this help · ") + st.Title.Render(":help") + st.Dim.Render(" the script API, with examples"))
		return frame.MaxWidth(m.width).Render(b.String())
	case searchOverlay:
		w := max(m.width/2, min(m.width, 30))
		h := max(m.height/2, 5)
		return frame.Width(w).Render(common.Fit(m.searchView(w-4, h), w-4, h))
	case confirmQuitOverlay:
		return frame.MaxWidth(m.width).Render(st.Error.Render(m.quitConfirm.Question()))
	case pagerOverlay:
		return frame.Render(m.pager.view(st))
	}
	return ""
}

// Quit is a command that quits through the app's quit flow.
func Quit() tea.Msg { return quitMsg{} }
