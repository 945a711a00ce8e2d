package forge

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

const (
	// MaxLogLines bounds the log lines kept per job.
	MaxLogLines = 200
	// MaxLiveJobs bounds the jobs whose live progress and log are kept;
	// the one heard of longest ago goes first.
	MaxLiveJobs = 32
)

// The job states the pane treats specially (the Forge's own names).
const (
	queued       = "queued"
	curating     = "curating"
	compensating = "compensating"
	succeeded    = "succeeded"
	failed       = "failed"
	cancelled    = "cancelled"
)

func ended(state string) bool { return state == succeeded || state == failed || state == cancelled }

// Progress is a trainer's progress: a job's progress slot, or the latest
// api.EventForge.
type Progress struct {
	Step, Steps int
	Loss, LR    float64
	ETA         int // seconds
}

func (p Progress) known() bool { return p.Step > 0 || p.Steps > 0 }

// Job is a job object's slots, as the pane shows them (texts sanitized).
type Job struct {
	OID                             uint64
	ID                              int
	Persona, State, Backend, Reason string
	Version                         int
	// CancelAsked is the job's cancel slot: a cancel was asked and the
	// worker has not acted on it yet.
	CancelAsked bool
	// Progress is the progress committed at the job's last transition.
	Progress Progress
}

// live is what api.EventForge told of one job.
type live struct {
	state    string
	progress Progress
	lines    []string
}

// loadReq is what to read: everything, Lobby.Forge's job list (and the
// jobs it names that the pane has not read), and the jobs in oids.
type loadReq struct {
	all, list bool
	oids      map[uint64]bool
}

func (r loadReq) empty() bool { return !r.all && !r.list && len(r.oids) == 0 }

func (r *loadReq) merge(o loadReq) {
	r.all, r.list = r.all || o.all, r.list || o.list
	for oid := range o.oids {
		if r.oids == nil {
			r.oids = map[uint64]bool{}
		}
		r.oids[oid] = true
	}
}

type (
	// loadedMsg answers a loadReq.
	loadedMsg struct {
		forge  uint64         // Lobby.Forge, when it was looked up
		listed bool           // order is Lobby.Forge.jobs as read now
		order  []uint64       // the job objects, as listed
		jobs   map[uint64]Job // the jobs read
		gone   []uint64       // jobs asked for that no longer exist
		err    error
	}
	// sentMsg answers a cancel or a fineTune.
	sentMsg struct {
		cancel  bool
		job     int
		persona string
		oid     uint64 // the job queued
		err     error
	}
	personasMsg struct{ names []string }
)

// Model is the Forge pane.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	focus  bool

	forgeOID uint64         // Lobby.Forge; 0 until found
	order    []uint64       // Lobby.Forge.jobs
	cache    map[uint64]Job // the jobs read, by OID
	jobs     []Job          // cache in order of id, newest first
	cursor   int
	off      int
	selOID   uint64 // the selected job, kept across reloads
	wantSel  uint64 // select this job once it is listed (one just queued)

	loading bool    // a read is in flight
	pending loadReq // what to read next
	loaded  bool    // a read has answered
	loadErr string  // the last read's error, one sanitized line

	live      map[int]*live
	liveOrder []int // live's keys, oldest first

	confirm pane.Confirm // asking whether to cancel a job
	prompt  pane.Prompt  // asking which persona to fine-tune

	note    string // the last action's outcome, one line
	noteErr bool
}

var _ common.Pane = (*Model)(nil)

// New returns a Forge pane over c.Image.
func New(c *common.Common) *Model {
	keys := DefaultKeyMap()
	prompt := pane.NewPrompt("fine-tune persona: ")
	prompt.Keys = pane.PromptKeys{Accept: keys.Accept, Dismiss: keys.Dismiss}
	prompt.Input.Placeholder = "BRICK"
	prompt.Input.ShowSuggestions = true
	return &Model{
		c: c, keys: keys, width: 80, height: 24,
		cache: map[uint64]Job{}, live: map[int]*live{}, prompt: prompt,
	}
}

// Init reads the jobs.
func (m *Model) Init() tea.Cmd { return m.ask(loadReq{all: true}) }

func (m *Model) Title() string { return "Forge" }

// Editing is true while the prompt or the cancel question has the keys.
func (m *Model) Editing() bool { return m.prompt.Asking() || m.confirm.Asking() }

// Dirty is true while the prompt holds a name not yet queued.
func (m *Model) Dirty() bool { return m.prompt.Asking() && strings.TrimSpace(m.prompt.Value()) != "" }

func (m *Model) Focus() tea.Cmd {
	m.focus = true
	if m.prompt.Asking() {
		return m.prompt.Input.Focus()
	}
	return nil
}

func (m *Model) Blur() {
	m.focus = false
	m.prompt.Input.Blur()
}

func (m *Model) SetSize(width, height int) {
	m.width, m.height = max(width, 0), max(height, 0)
	m.prompt.Input.SetWidth(max(m.width-lipgloss.Width(m.prompt.Input.Prompt)-1, 1))
	m.off = pane.Scroll(m.cursor, m.off, m.listHeight(), len(m.jobs))
}

func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	switch {
	case m.prompt.Asking():
		return m.prompt.ShortHelp()
	case m.confirm.Asking():
		return m.confirm.ShortHelp()
	}
	return k.ShortHelp()
}

func (m *Model) FullHelp() [][]key.Binding { return m.keys.FullHelp() }

// Jobs returns the jobs listed, newest first.
func (m *Model) Jobs() []Job { return append([]Job(nil), m.jobs...) }

// Selected returns the selected job.
func (m *Model) Selected() (Job, bool) {
	if m.cursor < len(m.jobs) {
		return m.jobs[m.cursor], true
	}
	return Job{}, false
}

// --- reading the image -------------------------------------------------------

// ask reads what r names: now when no read runs, else after the one that
// does, merged with whatever else was asked meanwhile. One read at a time
// keeps answers in the order of the commits that asked for them.
func (m *Model) ask(r loadReq) tea.Cmd {
	m.pending.merge(r)
	if m.loading || m.pending.empty() {
		return nil
	}
	req := m.pending
	m.pending = loadReq{}
	m.loading = true
	known := make(map[uint64]bool, len(m.cache))
	for oid := range m.cache {
		known[oid] = true
	}
	return load(m.c.Image, m.forgeOID, req, known)
}

// load reads what req names off the UI loop; known are the jobs already
// read (a list read only reads the others).
func load(img api.Image, forgeOID uint64, req loadReq, known map[uint64]bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		out := loadedMsg{jobs: map[uint64]Job{}}
		if req.all || forgeOID == 0 {
			oid, err := api.LobbySlot(ctx, img, "Forge")
			if err != nil {
				out.err = err
				return out
			}
			forgeOID, out.forge = oid, oid
			req.all, req.list = true, true
		}
		want := map[uint64]bool{}
		for oid := range req.oids {
			want[oid] = true
		}
		if req.list {
			v, err := img.Object(ctx, forgeOID)
			if err != nil {
				out.err = fmt.Errorf("read Lobby.Forge: %w", err)
				return out
			}
			out.listed, out.order = true, jobOIDs(v)
			for _, oid := range out.order {
				if req.all || !known[oid] {
					want[oid] = true
				}
			}
		}
		for oid := range want {
			v, err := img.Object(ctx, oid)
			switch {
			case api.KindOf(err) == api.ErrNotFound:
				out.gone = append(out.gone, oid)
			case err != nil:
				if out.err == nil {
					out.err = fmt.Errorf("read forge job (object %d): %w", oid, err)
				}
			default:
				out.jobs[oid] = readJob(v)
			}
		}
		return out
	}
}

// jobOIDs lists the job objects of Lobby.Forge's jobs slot.
func jobOIDs(forge api.ObjectView) []uint64 {
	var out []uint64
	for _, s := range forge.Slots {
		if s.Name != "jobs" || s.Value == nil {
			continue
		}
		for _, item := range s.Value.Items {
			if item.Object != nil {
				out = append(out, item.Object.OID)
			}
		}
	}
	return out
}

// readJob reads a job object's slots.
func readJob(v api.ObjectView) Job {
	j := Job{OID: v.OID}
	for _, s := range v.Slots {
		if s.Value == nil {
			continue
		}
		switch val := *s.Value; s.Name {
		case "id":
			j.ID = int(val.Int)
		case "persona":
			j.Persona = common.SanitizeLine(val.String)
		case "state":
			j.State = common.SanitizeLine(val.String)
		case "backend":
			j.Backend = common.SanitizeLine(val.String)
		case "reason":
			j.Reason = common.SanitizeLine(val.String)
		case "version":
			j.Version = int(val.Int)
		case "cancel":
			j.CancelAsked = val.Bool
		case "progress":
			for _, e := range val.Entries {
				switch e.Key {
				case "step":
					j.Progress.Step = int(number(e.Value))
				case "steps":
					j.Progress.Steps = int(number(e.Value))
				case "loss":
					j.Progress.Loss = number(e.Value)
				case "lr":
					j.Progress.LR = number(e.Value)
				case "eta_s":
					j.Progress.ETA = int(number(e.Value))
				}
			}
		}
	}
	return j
}

func number(v api.Value) float64 {
	if v.Kind == api.ValueInt {
		return float64(v.Int)
	}
	return v.Float64()
}

// errLine is an error as one sanitized line.
func errLine(err error) string { return common.SanitizeLine(err.Error()) }

// apply applies a read's answer.
func (m *Model) apply(msg loadedMsg) tea.Cmd {
	m.loading, m.loaded = false, true
	m.loadErr = ""
	if msg.err != nil {
		m.loadErr = errLine(msg.err)
	}
	if msg.forge != 0 {
		m.forgeOID = msg.forge
	}
	if msg.listed {
		m.order = msg.order
		in := make(map[uint64]bool, len(m.order))
		for _, oid := range m.order {
			in[oid] = true
		}
		for oid := range m.cache {
			if !in[oid] {
				delete(m.cache, oid)
			}
		}
	}
	listed := make(map[uint64]bool, len(m.order))
	for _, oid := range m.order {
		listed[oid] = true
	}
	for oid, j := range msg.jobs {
		if listed[oid] {
			m.cache[oid] = j
		}
	}
	for _, oid := range msg.gone {
		delete(m.cache, oid)
	}
	m.rebuild()
	return m.ask(loadReq{})
}

// rebuild orders the jobs read, newest first, keeping the selection.
func (m *Model) rebuild() {
	if j, ok := m.Selected(); ok {
		m.selOID = j.OID
	}
	m.jobs = m.jobs[:0]
	for _, oid := range m.order {
		if j, ok := m.cache[oid]; ok {
			m.jobs = append(m.jobs, j)
		}
	}
	sort.SliceStable(m.jobs, func(a, b int) bool { return m.jobs[a].ID > m.jobs[b].ID })
	want := m.selOID
	if m.wantSel != 0 {
		if _, ok := m.cache[m.wantSel]; ok {
			want, m.wantSel = m.wantSel, 0
		}
	}
	for i, j := range m.jobs {
		if j.OID == want {
			m.cursor = i
		}
	}
	m.cursor = pane.Clamp(m.cursor, len(m.jobs))
	m.off = pane.Scroll(m.cursor, m.off, m.listHeight(), len(m.jobs))
	if j, ok := m.Selected(); ok {
		m.selOID = j.OID
	}
}

// --- live events -------------------------------------------------------------

// commit reads again what a commit changed: Lobby.Forge's list, the jobs
// the pane shows, everything when Lobby's Forge slot changed.
func (m *Model) commit(ev api.Event) tea.Cmd {
	var r loadReq
	for _, ref := range ev.Tx.Changed {
		switch _, isJob := m.cache[ref.OID]; {
		case m.forgeOID != 0 && ref.OID == m.forgeOID:
			r.list = true
		case isJob:
			r.merge(loadReq{oids: map[uint64]bool{ref.OID: true}})
		}
	}
	for _, c := range ev.Changes {
		if c.Object.OID != api.LobbyOID {
			continue
		}
		for _, s := range c.Slots {
			if s.Name == "Forge" {
				r.all = true
			}
		}
	}
	return m.ask(r)
}

// observe keeps what an api.EventForge tells of a job; it asks for the
// list when the job is not listed yet.
func (m *Model) observe(p api.ForgeProgress) tea.Cmd {
	l, ok := m.live[p.Job]
	if !ok {
		l = &live{}
		m.live[p.Job] = l
		m.liveOrder = append(m.liveOrder, p.Job)
		if len(m.liveOrder) > MaxLiveJobs {
			delete(m.live, m.liveOrder[0])
			m.liveOrder = append([]int(nil), m.liveOrder[1:]...)
		}
	}
	state := common.SanitizeLine(p.State)
	l.state = state
	if p.Step > 0 || p.Steps > 0 {
		l.progress = Progress{Step: p.Step, Steps: p.Steps, Loss: p.Loss, LR: p.LR, ETA: p.ETA}
	}
	if p.Line != "" {
		for _, line := range strings.Split(common.Sanitize(p.Line), "\n") {
			if line = strings.TrimRight(line, " "); line != "" {
				l.lines = append(l.lines, line)
			}
		}
		if len(l.lines) > MaxLogLines+MaxLogLines/4 {
			l.lines = append([]string(nil), l.lines[len(l.lines)-MaxLogLines:]...)
		}
	}
	for oid, j := range m.cache {
		if j.ID == p.Job {
			// The event follows its transition's commit: show it now,
			// the read the commit asked for confirms it. An ended job
			// stays ended.
			if state != "" && !ended(j.State) {
				j.State = state
				m.cache[oid] = j
				m.rebuild()
			}
			return nil
		}
	}
	return m.ask(loadReq{list: true})
}

// logOf returns the log lines kept for job id, the last MaxLogLines.
func (m *Model) logOf(id int) []string {
	l, ok := m.live[id]
	if !ok {
		return nil
	}
	return l.lines[max(len(l.lines)-MaxLogLines, 0):]
}

// progressOf is the progress shown for j: the live one, unless the
// committed one is further along (the pane opened after it trained).
func (m *Model) progressOf(j Job) (Progress, bool) {
	c := j.Progress
	if l, ok := m.live[j.ID]; ok && l.progress.known() && (!c.known() || l.progress.Step >= c.Step) {
		return l.progress, true
	}
	return c, c.known()
}

// --- update ------------------------------------------------------------------

func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case loadedMsg:
		return m, m.apply(msg)
	case common.EventMsg:
		switch ev := msg.Event; {
		case ev.Type == api.EventCommit && ev.Tx != nil:
			return m, m.commit(ev)
		case ev.Type == api.EventForge && ev.Forge != nil:
			return m, m.observe(*ev.Forge)
		}
		return m, nil
	case common.RefreshMsg:
		return m, m.ask(loadReq{all: true})
	case sentMsg:
		return m, m.sent(msg)
	case personasMsg:
		m.prompt.Input.SetSuggestions(msg.names)
		return m, nil
	case tea.MouseClickMsg:
		if msg.Button == tea.MouseLeft {
			first := m.listTop()
			if i := m.off + msg.Y - first; msg.Y >= first && msg.Y < first+m.listHeight() && i < len(m.jobs) {
				m.cursor = i
			}
		}
		return m, nil
	case tea.MouseWheelMsg:
		if msg.Button == tea.MouseWheelUp {
			m.move(m.cursor - 1)
		} else {
			m.move(m.cursor + 1)
		}
		return m, nil
	case tea.PasteMsg:
		cmd, _ := m.prompt.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	// The text field's own messages (its cursor), while it is up.
	cmd, _ := m.prompt.Update(msg)
	return m, cmd
}

func (m *Model) move(i int) {
	m.cursor = pane.Clamp(i, len(m.jobs))
	m.off = pane.Scroll(m.cursor, m.off, m.listHeight(), len(m.jobs))
	if j, ok := m.Selected(); ok {
		m.selOID = j.OID
	}
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case m.prompt.Asking():
		cmd, _ := m.prompt.Update(msg)
		return cmd
	case m.confirm.Asking():
		cmd, _ := m.confirm.Update(msg)
		return cmd
	}
	m.note = ""
	if c, ok := pane.Navigate(msg, pane.ListKeys{Down: k.Down, Up: k.Up, Top: k.Top, Bottom: k.Bottom}, m.cursor, len(m.jobs)); ok {
		m.move(c)
		return nil
	}
	j, ok := m.Selected()
	switch {
	case key.Matches(msg, k.Inspect) && ok:
		return m.c.Navigate(common.InspectMsg{OID: j.OID})
	case key.Matches(msg, k.Browse) && ok:
		return m.c.Navigate(common.BrowseMsg{OID: j.OID})
	case key.Matches(msg, k.Reload):
		return m.ask(loadReq{all: true})
	case key.Matches(msg, k.New):
		return tea.Batch(m.prompt.Ask("", m.queue), personas(m.c.Image))
	case key.Matches(msg, k.Cancel):
		switch {
		case !ok:
			m.say("no job selected: there is nothing to cancel", false)
		case ended(j.State):
			m.say(fmt.Sprintf("job %d (%s) has already ended (%s): there is nothing to cancel", j.ID, j.Persona, j.State), false)
		case j.CancelAsked || j.State == compensating:
			m.say(fmt.Sprintf("job %d (%s) is being stopped already", j.ID, j.Persona), false)
		default:
			m.confirm.Keys = pane.ConfirmKeys{
				Yes: key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "cancel the job")),
				No:  key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "keep it")),
			}
			m.confirm.Ask(fmt.Sprintf("cancel job %d (%s, %s)?", j.ID, j.Persona, j.State), func() tea.Cmd { return m.cancelJob(j) })
		}
	}
	return nil
}

func (m *Model) say(text string, isErr bool) { m.note, m.noteErr = text, isErr }

// queue queues a fine-tune of the persona the prompt was answered with.
func (m *Model) queue(name string) tea.Cmd {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	if m.forgeOID == 0 {
		m.say("cannot queue: this image has no Lobby.Forge", true)
		return nil
	}
	img, forge := m.c.Image, m.forgeOID
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		res, err := img.Send(ctx, forge, "fineTune", api.String(name))
		out := sentMsg{persona: name, err: err}
		if err == nil && res.Value.Object != nil {
			out.oid = res.Value.Object.OID
		}
		return out
	}
}

// cancelJob asks Lobby.Forge to cancel j.
func (m *Model) cancelJob(j Job) tea.Cmd {
	if m.forgeOID == 0 {
		m.say("cannot cancel: this image has no Lobby.Forge", true)
		return nil
	}
	img, forge := m.c.Image, m.forgeOID
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		_, err := img.Send(ctx, forge, "cancel", api.Int(int64(j.ID)))
		return sentMsg{cancel: true, job: j.ID, persona: j.Persona, err: err}
	}
}

// sent reports a cancel's or a fineTune's outcome and reads what changed.
func (m *Model) sent(msg sentMsg) tea.Cmd {
	persona := common.SanitizeLine(msg.persona)
	switch {
	case msg.err != nil && msg.cancel:
		m.say(fmt.Sprintf("cancel job %d: %s", msg.job, errLine(msg.err)), true)
	case msg.err != nil:
		m.say(fmt.Sprintf("fine-tune %s: %s", persona, errLine(msg.err)), true)
	case msg.cancel:
		m.say(fmt.Sprintf("job %d (%s): cancel asked; the worker stops it and undoes its steps", msg.job, persona), false)
		for oid, j := range m.cache {
			if j.ID == msg.job {
				j.CancelAsked = true
				m.cache[oid] = j
			}
		}
		m.rebuild()
	default:
		m.say(fmt.Sprintf("queued a fine-tune of %s", persona), false)
		m.wantSel = msg.oid
	}
	if msg.err != nil {
		return nil
	}
	return m.ask(loadReq{list: true})
}

// personas lists Lobby.pLLM.personas, for the prompt's completion.
func personas(img api.Image) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		oid := api.LobbyOID
		for _, name := range []string{"pLLM", "personas"} {
			kids, err := img.Children(ctx, oid)
			if err != nil {
				return nil
			}
			found := false
			for _, k := range kids {
				if k.Slot == name {
					oid, found = k.OID, true
					break
				}
			}
			if !found {
				return nil
			}
		}
		kids, err := img.Children(ctx, oid)
		if err != nil {
			return nil
		}
		var names []string
		for _, k := range kids {
			names = append(names, common.SanitizeLine(k.Slot))
		}
		return personasMsg{names: names}
	}
}

// --- view --------------------------------------------------------------------

// bodyHeight is the rows above the footer.
func (m *Model) bodyHeight() int { return max(m.height-1, 0) }

// header is whether the list has a column header (when there is room).
func (m *Model) header() bool { return m.bodyHeight() >= 12 }

// listTop is the row of the list's first job.
func (m *Model) listTop() int {
	if m.header() {
		return 1
	}
	return 0
}

// listHeight is how many jobs the list shows: a third of the rows (two
// at least), the rest is the selected job's.
func (m *Model) listHeight() int {
	bh := m.bodyHeight() - m.listTop()
	if bh < 4 {
		return max(bh, 0)
	}
	return min(max(len(m.jobs), 1), max(bh/3, 2))
}

func (m *Model) View() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		return ""
	}
	bh := m.bodyHeight()
	rows := pane.Block(m.body(w, bh), w, bh)
	return strings.Join(append(rows, pane.Fit(m.footer(), w)), "\n")
}

// columns are the list's column widths: persona, state, backend.
func (m *Model) columns() (int, int, int) {
	pw := 6
	for _, j := range m.jobs {
		pw = max(pw, ansi.StringWidth(j.Persona))
	}
	return min(pw, 12), len(compensating), len("backend")
}

func (m *Model) body(w, h int) []string {
	st := m.c.Styles
	if h <= 0 {
		return nil
	}
	if len(m.jobs) == 0 {
		switch {
		case !m.loaded:
			return []string{st.Dim.Render(" loading…")}
		case m.loadErr != "":
			return []string{st.Dim.Render(" no jobs to show")}
		}
		return []string{st.Dim.Render(" no fine-tune jobs · n queues one")}
	}
	pw, sw, bw := m.columns()
	var out []string
	if m.header() {
		out = append(out, st.Dim.Render(fmt.Sprintf("  %3s %-*s %-*s %-*s %s", "id", pw, "persona", sw, "state", bw, "backend", "reason")))
	}
	lh := m.listHeight()
	off := pane.Scroll(m.cursor, m.off, lh, len(m.jobs))
	for i := off; i < min(off+lh, len(m.jobs)); i++ {
		j := m.jobs[i]
		text := fmt.Sprintf("%3d %s %s %s %s", j.ID, pane.Fit(j.Persona, pw), m.stateStyle(j.State).Render(pane.Fit(j.State, sw)),
			pane.Fit(j.Backend, bw), st.Dim.Render(j.Reason))
		out = append(out, m.row(text, i == m.cursor, w))
	}
	if j, ok := m.Selected(); ok && h-len(out) > 0 {
		out = append(out, m.detail(j, w, h-len(out))...)
	}
	return out
}

func (m *Model) row(text string, selected bool, w int) string {
	if !selected {
		return pane.Fit("  "+text, w)
	}
	r := pane.Fit("› "+ansi.Strip(text), w)
	if m.focus {
		return m.c.Styles.Selected.Render(r)
	}
	return lipgloss.NewStyle().Bold(true).Render(r)
}

// stateStyle colours a state; the word itself says it without colour.
func (m *Model) stateStyle(state string) lipgloss.Style {
	st := m.c.Styles
	switch state {
	case succeeded:
		return st.Info
	case failed, compensating:
		return st.Error
	case cancelled:
		return st.Dim
	case queued, "":
		return lipgloss.NewStyle()
	}
	return st.Principal("forge")
}

// detail is the selected job's rows: a title rule, its progress, why it
// failed, and the log's tail in whatever rows are left.
func (m *Model) detail(j Job, w, h int) []string {
	st := m.c.Styles
	title := fmt.Sprintf("── job %d · %s · %s · %s ", j.ID, j.Persona, j.State, j.Backend)
	out := []string{st.Dim.Render(pane.Fit(title+strings.Repeat("─", max(w-ansi.StringWidth(title), 0)), w))}
	p, ok := m.progressOf(j)
	switch {
	case ok && p.Steps > 0:
		counts := fmt.Sprintf(" step %d/%d", p.Step, p.Steps)
		stats := statsOf(p)
		frac := min(max(float64(p.Step)/float64(p.Steps), 0), 1)
		if w >= 64 {
			bw := min(max(w-ansi.StringWidth(counts)-ansi.StringWidth(stats)-9, 10), 40)
			out = append(out, " "+m.bar(frac, bw)+counts+" · "+stats)
		} else {
			bw := max(w-ansi.StringWidth(counts)-6, 5)
			out = append(out, " "+m.bar(frac, bw)+counts, " "+stats)
		}
	case ok:
		out = append(out, fmt.Sprintf(" step %d · %s", p.Step, statsOf(p)))
	default:
		out = append(out, st.Dim.Render(" "+waiting(j.State)))
	}
	switch {
	case j.Reason != "" && j.State == cancelled:
		out = append(out, st.Dim.Render(" "+j.Reason))
	case j.Reason != "":
		out = append(out, st.Error.Render(" reason: "+j.Reason))
	}
	if j.CancelAsked && !ended(j.State) {
		out = append(out, st.Error.Render(" cancel asked: the worker is stopping it"))
	}
	if j.State == succeeded && j.Version > 0 {
		out = append(out, st.Info.Render(fmt.Sprintf(" adapter v%d of %s registered", j.Version, j.Persona)))
	}
	if left := h - len(out); left > 0 {
		lines := m.logOf(j.ID)
		if len(lines) == 0 {
			out = append(out, st.Dim.Render(" (no log lines received: they stream while it trains)"))
		}
		for _, l := range lines[max(len(lines)-left, 0):] {
			out = append(out, st.Dim.Render(" │ ")+l)
		}
	}
	return out
}

// bar draws a progress bar of width cells (and its percentage after
// it): filled cells are full blocks and empty ones light shade, so that it
// reads without colour too.
func (m *Model) bar(frac float64, width int) string {
	filled := int(frac*float64(width) + 0.5)
	filled = min(max(filled, 0), width)
	return m.c.Styles.Principal("forge").Render(strings.Repeat("█", filled)) +
		m.c.Styles.Dim.Render(strings.Repeat("░", width-filled)) +
		fmt.Sprintf(" %3.0f%%", frac*100)
}

// statsOf is a progress's loss, learning rate and ETA.
func statsOf(p Progress) string {
	parts := []string{fmt.Sprintf("loss %.4g", p.Loss)}
	if p.LR != 0 {
		parts = append(parts, fmt.Sprintf("lr %.2g", p.LR))
	}
	parts = append(parts, "eta "+eta(p.ETA))
	return strings.Join(parts, " · ")
}

func eta(s int) string {
	if s <= 0 {
		return "–"
	}
	return (time.Duration(s) * time.Second).String()
}

// waiting says what a job without progress is doing.
func waiting(state string) string {
	switch state {
	case queued:
		return "queued: waiting for a worker and its turn"
	case curating:
		return "curating its dataset"
	case succeeded, failed, cancelled:
		return "no progress was recorded"
	}
	return "no progress reported yet"
}

func (m *Model) footer() string {
	st := m.c.Styles
	switch {
	case m.prompt.Asking():
		return m.prompt.View()
	case m.confirm.Asking():
		return st.Error.Render(m.confirm.Question())
	case m.note != "" && m.noteErr:
		return st.Error.Render("✗ " + m.note)
	case m.note != "":
		return st.Info.Render("• " + m.note)
	case m.loadErr != "":
		return st.Error.Render("✗ " + m.loadErr)
	}
	inFlight := 0
	for _, j := range m.jobs {
		if !ended(j.State) {
			inFlight++
		}
	}
	jobs := "jobs"
	if len(m.jobs) == 1 {
		jobs = "job"
	}
	return st.Dim.Render(fmt.Sprintf("%d %s, %d in flight · n new · c cancel · enter inspect", len(m.jobs), jobs, inFlight))
}
