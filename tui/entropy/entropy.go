package entropy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"batos/api"
	"batos/tui/common"
	"batos/tui/internal/pane"
)

// components are a reading's keys in the order shown, with their labels.
var components = [...]struct{ key, short, long string }{
	{"cem", "CEM", "composite"},
	{"rel", "H_rel", "relevance"},
	{"cog", "H_cog", "cognitive diversity"},
	{"sol", "H_sol", "solution novelty"},
	{"struc", "H_struc", "structural complexity"},
}

// componentCount is how many components a reading has.
const componentCount = len(components)

// Reading is one reading of the metric: the answer of Lobby.entropy's
// measure, or an item of its series.
type Reading struct {
	// Values are the components in the order of components (CEM, H_rel,
	// H_cog, H_sol, H_struc); NaN where the reading has none.
	Values [componentCount]float64
	// Generations is how many generation records the window held (-1:
	// the reading does not say).
	Generations int
	// Time is when it was recorded, as the image wrote it (sanitized;
	// "" when it does not say).
	Time string
}

// CEM is the reading's composite value (NaN when it has none).
func (r Reading) CEM() float64 { return r.Values[0] }

// config is Lobby.entropy's configuration, as read (0 or NaN: not set).
type config struct {
	weights                      [componentCount]float64 // weights[0], the CEM's, is NaN
	window, k, interval, maximum int
}

// loadReq is what to read: find Lobby.entropy again, read its slots,
// measure; find and read Lobby.autotelic (auto).
type loadReq struct{ find, object, measure, auto bool }

func (r loadReq) empty() bool { return !r.find && !r.object && !r.measure && !r.auto }

func (r *loadReq) merge(o loadReq) {
	r.find, r.object, r.measure = r.find || o.find, r.object || o.object, r.measure || o.measure
	r.auto = r.auto || o.auto
}

type (
	// loadedMsg answers a loadReq.
	loadedMsg struct {
		req    loadReq
		oid    uint64 // Lobby.entropy, when it was looked up
		gone   bool   // the look-up found none
		cfg    *config
		series []Reading
		now    *Reading
		// auto is Lobby.autotelic, when it was read; autoOID 0: the image
		// has none.
		auto    *autotelicState
		autoOID uint64
		err     error
	}
	// recordedMsg answers R.
	recordedMsg struct {
		now Reading
		tx  uint64
		err error
	}
)

// Model is the Entropy pane.
type Model struct {
	c      *common.Common
	keys   KeyMap
	width  int
	height int
	focus  bool

	oid    uint64 // Lobby.entropy; 0 until found
	cfg    config
	series []Reading

	now        Reading // the last measure's reading
	nowOK      bool
	measuredAt time.Time // when it was had

	loading bool    // a read is in flight
	pending loadReq // what to read next
	loaded  bool    // a read has answered
	loadErr string  // the last read's error, one sanitized line

	// shown is set once the pane has been focused (shown): it measures
	// then, and from then on when a commit changes Lobby.entropy.
	shown     bool
	measuring bool   // r asked for a measure not answered yet
	recording bool   // R's record is in flight
	recordTx  uint64 // the transaction of the last record R made

	note    string // the last action's outcome, one line
	noteErr bool

	// The autotelic loop's ledger section: Lobby.autotelic as last read
	// (autoOK: the image has one, at autoOID), the step this pane runs
	// (stepping, cancelled by stepCancel) and the summary of the last
	// one it ran.
	auto       autotelicState
	autoOID    uint64
	autoOK     bool
	stepping   bool
	stepCancel context.CancelFunc
	lastStep   string
}

var (
	_ common.Pane      = (*Model)(nil)
	_ common.Busy      = (*Model)(nil)
	_ common.Canceller = (*Model)(nil)
)

// New returns an Entropy pane over c.Image.
func New(c *common.Common) *Model {
	return &Model{c: c, keys: DefaultKeyMap(), width: 80, height: 24, cfg: config{weights: nanWeights()}}
}

func nanWeights() [componentCount]float64 {
	var w [componentCount]float64
	for i := range w {
		w[i] = math.NaN()
	}
	return w
}

// Init finds Lobby.entropy and Lobby.autotelic and reads them; it
// measures nothing (the pane measures when first shown).
func (m *Model) Init() tea.Cmd { return m.ask(loadReq{find: true, object: true, auto: true}) }

func (m *Model) Title() string { return "Entropy" }

// Editing is always false: the pane has no text field.
func (m *Model) Editing() bool { return false }

// Dirty is always false: the pane holds no edit.
func (m *Model) Dirty() bool { return false }

// Focus measures the first time: the pane is shown.
func (m *Model) Focus() tea.Cmd {
	m.focus = true
	if m.shown {
		return nil
	}
	m.shown = true
	return m.ask(loadReq{measure: true})
}

func (m *Model) Blur() { m.focus = false }

func (m *Model) SetSize(width, height int) { m.width, m.height = max(width, 0), max(height, 0) }

func (m *Model) ShortHelp() []key.Binding { return m.keys.ShortHelp() }

func (m *Model) FullHelp() [][]key.Binding { return m.keys.FullHelp() }

// Current returns the last measured reading.
func (m *Model) Current() (Reading, bool) { return m.now, m.nowOK }

// Series returns the readings of Lobby.entropy.series, oldest first.
func (m *Model) Series() []Reading { return append([]Reading(nil), m.series...) }

// --- reading the image -------------------------------------------------------

// ask reads what r names: now when no read runs, else after the one that
// does, merged with whatever else was asked meanwhile, so that answers
// arrive in the order of the commits that asked for them.
func (m *Model) ask(r loadReq) tea.Cmd {
	m.pending.merge(r)
	if m.loading || m.pending.empty() {
		return nil
	}
	req := m.pending
	m.pending = loadReq{}
	m.loading = true
	return load(m.c.Image, m.oid, req)
}

// load reads what req names off the UI loop.
func load(img api.Image, oid uint64, req loadReq) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		out := loadedMsg{req: req}
		if req.auto {
			// First: an image without Lobby.entropy may have a loop.
			if err := loadAutotelic(ctx, img, &out); err != nil {
				out.err = err
				return out
			}
		}
		if req.find || oid == 0 {
			found, err := api.LobbySlot(ctx, img, "entropy")
			if err != nil {
				out.gone, out.err = api.KindOf(err) == api.ErrNotFound, err
				return out
			}
			oid, out.oid = found, found
			req.object = true
			out.req = req
		}
		if req.object {
			v, err := img.Object(ctx, oid)
			if err != nil {
				out.err = fmt.Errorf("read Lobby.entropy: %w", err)
				return out
			}
			cfg, series := readEntropy(v)
			out.cfg, out.series = &cfg, series
		}
		if req.measure {
			res, err := img.Send(ctx, oid, "measure")
			if err != nil {
				out.err = fmt.Errorf("measure: %w", err)
				return out
			}
			r, ok := readingOf(res.Value)
			if !ok {
				out.err = fmt.Errorf("measure answered %s, not a reading", res.Value.Text)
				return out
			}
			out.now = &r
		}
		return out
	}
}

var errNoEntropy = errors.New("this image has no Lobby.entropy")

// loadAutotelic finds and reads Lobby.autotelic into out; an image
// without one (out.autoOID 0) is no error: it has no loop to show.
func loadAutotelic(ctx context.Context, img api.Image, out *loadedMsg) error {
	oid, err := api.LobbySlot(ctx, img, "autotelic")
	switch {
	case api.KindOf(err) == api.ErrNotFound:
		out.auto = &autotelicState{}
		return nil
	case err != nil:
		return err
	}
	v, err := img.Object(ctx, oid)
	if err != nil {
		return fmt.Errorf("read Lobby.autotelic: %w", err)
	}
	st := readAutotelic(v)
	out.auto, out.autoOID = &st, oid
	return nil
}

// readEntropy reads Lobby.entropy's configuration and series.
func readEntropy(v api.ObjectView) (config, []Reading) {
	cfg := config{weights: nanWeights()}
	var series []Reading
	for _, s := range v.Slots {
		if s.Value == nil {
			continue
		}
		switch val := *s.Value; s.Name {
		case "weights":
			for _, e := range val.Entries {
				for i, c := range components[1:] {
					if e.Key == c.key {
						cfg.weights[i+1] = number(e.Value)
					}
				}
			}
		case "window":
			cfg.window = count(val)
		case "k":
			cfg.k = count(val)
		case "interval":
			cfg.interval = count(val)
		case "seriesMax":
			cfg.maximum = count(val)
		case "series":
			for _, item := range val.Items {
				if r, ok := readingOf(item); ok {
					series = append(series, r)
				}
			}
		}
	}
	return cfg, series
}

// readingOf reads a reading from a map value; ok is false for any other
// value.
func readingOf(v api.Value) (Reading, bool) {
	if v.Kind != api.ValueMap {
		return Reading{}, false
	}
	r := Reading{Generations: -1}
	for i := range r.Values {
		r.Values[i] = math.NaN()
	}
	for _, e := range v.Entries {
		switch e.Key {
		case "generations":
			if n := number(e.Value); !math.IsNaN(n) {
				r.Generations = int(n)
			}
		case "time":
			if e.Value.Kind == api.ValueString {
				r.Time = common.SanitizeLine(e.Value.String)
			}
		default:
			for i, c := range components {
				if e.Key == c.key {
					r.Values[i] = number(e.Value)
				}
			}
		}
	}
	return r, true
}

// number is a number value as a float64 (a float travels as strconv
// text); NaN for any other value.
func number(v api.Value) float64 {
	switch v.Kind {
	case api.ValueFloat:
		f, err := strconv.ParseFloat(v.Float, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	case api.ValueInt:
		return float64(v.Int)
	}
	return math.NaN()
}

// count is a whole number value (0 when it is none).
func count(v api.Value) int {
	n := number(v)
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return 0
	}
	return int(n)
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
	if msg.gone {
		m.oid, m.cfg, m.series, m.nowOK = 0, config{weights: nanWeights()}, nil, false
	}
	if msg.oid != 0 {
		m.oid = msg.oid
	}
	if msg.cfg != nil {
		m.cfg, m.series = *msg.cfg, msg.series
	}
	if msg.now != nil {
		m.now, m.nowOK, m.measuredAt = *msg.now, true, m.c.Now()
	}
	if msg.auto != nil {
		m.auto, m.autoOID, m.autoOK = *msg.auto, msg.autoOID, msg.autoOID != 0
	}
	if msg.req.measure && m.measuring {
		m.measuring = false
		m.note = ""
	}
	return m.ask(loadReq{})
}

// commit reads again what a commit changed: Lobby.entropy's slots (and,
// once the pane has been shown, measures, unless it is the record R made,
// whose reading is shown already), everything when Lobby's entropy slot
// changed; Lobby.autotelic when it, or Lobby's slot holding it, changed
// (a switch, a step's ledger entry).
func (m *Model) commit(ev api.Event) tea.Cmd {
	var r loadReq
	for _, c := range ev.Changes {
		if c.Object.OID != api.LobbyOID {
			continue
		}
		for _, s := range c.Slots {
			switch s.Name {
			case "entropy":
				r.find, r.measure = true, m.shown
			case "autotelic":
				r.auto = true
			}
		}
	}
	for _, ref := range ev.Tx.Changed {
		if m.oid != 0 && ref.OID == m.oid {
			r.object = true
			r.measure = r.measure || m.shown && ev.Tx.ID != m.recordTx
		}
		if m.autoOID != 0 && ref.OID == m.autoOID {
			r.auto = true
		}
	}
	return m.ask(r)
}

// --- update ------------------------------------------------------------------

func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case loadedMsg:
		return m, m.apply(msg)
	case recordedMsg:
		return m, m.recorded(msg)
	case StepMsg:
		return m, m.step()
	case steppedMsg:
		return m, m.stepped(msg)
	case common.EventMsg:
		if ev := msg.Event; ev.Type == api.EventCommit && ev.Tx != nil {
			return m, m.commit(ev)
		}
		return m, nil
	case common.RefreshMsg:
		return m, m.ask(loadReq{find: true, object: true, measure: m.shown, auto: true})
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	m.note = ""
	switch {
	case key.Matches(msg, k.Measure):
		m.measuring = true
		m.say("measuring…", false)
		return m.ask(loadReq{measure: true})
	case key.Matches(msg, k.Record):
		return m.record()
	case key.Matches(msg, k.Inspect) && m.oid != 0:
		oid := m.oid
		return m.c.Navigate(common.InspectMsg{OID: oid})
	case key.Matches(msg, k.Browse) && m.oid != 0:
		oid := m.oid
		return m.c.Navigate(common.BrowseMsg{OID: oid})
	}
	return nil
}

func (m *Model) say(text string, isErr bool) { m.note, m.noteErr = text, isErr }

// record asks Lobby.entropy to record a reading (a commit).
func (m *Model) record() tea.Cmd {
	switch {
	case m.recording:
		m.say("a reading is being recorded already", false)
		return nil
	case m.oid == 0:
		m.say("cannot record: "+errNoEntropy.Error(), true)
		return nil
	}
	m.recording = true
	m.say("recording…", false)
	img, oid := m.c.Image, m.oid
	return func() tea.Msg {
		ctx, cancel := pane.Ctx()
		defer cancel()
		res, err := img.Send(ctx, oid, "record")
		if err != nil {
			return recordedMsg{err: fmt.Errorf("record: %w", err)}
		}
		r, ok := readingOf(res.Value)
		if !ok {
			return recordedMsg{err: fmt.Errorf("record answered %s, not a reading", res.Value.Text), tx: res.Tx}
		}
		return recordedMsg{now: r, tx: res.Tx}
	}
}

// recorded shows R's reading and reads the series it grew.
func (m *Model) recorded(msg recordedMsg) tea.Cmd {
	m.recording = false
	if msg.tx != 0 {
		m.recordTx = msg.tx
	}
	if msg.err != nil {
		m.say(errLine(msg.err), true)
		return nil
	}
	m.now, m.nowOK, m.measuredAt = msg.now, true, m.c.Now()
	m.say(fmt.Sprintf("recorded a reading (transaction %d)", msg.tx), false)
	return m.ask(loadReq{object: true})
}
