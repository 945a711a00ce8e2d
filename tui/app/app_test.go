package app_test

import (
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"batos/api"
	"batos/tui/app"
	"batos/tui/browser"
	"batos/tui/common"
	"batos/tui/common/commontest"
	"batos/tui/transcript"
	"batos/tui/workspace"
)

var clock = time.Date(2026, 11, 25, 18, 40, 0, 0, time.UTC)

// fakePane is a pane whose dirtiness and editing the test sets.
type fakePane struct {
	title          string
	dirty, editing bool
	got            []tea.Msg
	w, h           int
	// On the key i, a pane with nav asks c to show it elsewhere.
	c   *common.Common
	nav tea.Msg
}

func (p *fakePane) Init() tea.Cmd { return nil }
func (p *fakePane) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "i" && p.nav != nil {
		return p, p.c.Navigate(p.nav)
	}
	switch msg.(type) {
	case common.BrowseMsg, common.InspectMsg, common.InspectValueMsg, common.RefreshMsg, browser.SendersMsg:
		p.got = append(p.got, msg)
	}
	return p, nil
}
func (p *fakePane) View() string {
	s := p.title + " pane"
	if len(p.got) > 0 {
		s += "\ngot " + strings.TrimSpace(fmtMsg(p.got[len(p.got)-1]))
	}
	return common.Fit(s, p.w, p.h)
}
func (p *fakePane) SetSize(w, h int) { p.w, p.h = w, h }
func (p *fakePane) Focus() tea.Cmd   { return nil }
func (p *fakePane) Blur()            {}
func (p *fakePane) Title() string    { return p.title }
func (p *fakePane) Editing() bool    { return p.editing }
func (p *fakePane) Dirty() bool      { return p.dirty }
func (p *fakePane) ShortHelp() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("x"), key.WithHelp("x", p.title+" action"))}
}
func (p *fakePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

func fmtMsg(m tea.Msg) string {
	switch m := m.(type) {
	case common.BrowseMsg:
		return "browse " + itoa(m.OID) + " " + m.Selector
	case common.InspectMsg:
		return "inspect " + itoa(m.OID)
	case common.InspectValueMsg:
		return "inspect value " + m.Value.Text
	case common.RefreshMsg:
		return "refresh"
	}
	return ""
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

type harness struct {
	tm     *teatest.TestModel
	screen *commontest.Recorder
	img    *commontest.Image
	app    *app.Model
	panes  map[string]*fakePane
}

func start(t *testing.T, w, h int) *harness {
	t.Helper()
	img := commontest.New()
	c := &common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	hs := &harness{img: img, panes: map[string]*fakePane{}}
	for _, n := range []string{"Browser", "Inspector", "History"} {
		hs.panes[n] = &fakePane{title: n}
	}
	hs.app = app.New(c, app.Options{StatusEvery: -1, Panes: &app.Panes{
		Browser: hs.panes["Browser"], Inspector: hs.panes["Inspector"], History: hs.panes["History"],
		Workspace: workspace.New(c), Transcript: transcript.New(c),
	}})
	hs.screen = commontest.Record(hs.app)
	hs.tm = teatest.NewTestModel(t, hs.screen, teatest.WithInitialTermSize(w, h))
	hs.wait(t, "42 objects")
	return hs
}

func (h *harness) wait(t *testing.T, texts ...string) {
	t.Helper()
	h.screen.WaitFor(t, 20*time.Second, texts...)
}

func (h *harness) keys(ks ...tea.KeyPressMsg) {
	for _, k := range ks {
		h.tm.Send(k)
	}
}

func (h *harness) finish(t *testing.T) {
	t.Helper()
	h.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

var (
	tab      = tea.KeyPressMsg{Code: tea.KeyTab}
	shiftTab = tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	enter    = tea.KeyPressMsg{Code: tea.KeyEnter}
	esc      = tea.KeyPressMsg{Code: tea.KeyEscape}
	ctrlC    = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	ctrlL    = tea.KeyPressMsg{Code: 'l', Mod: tea.ModCtrl}
)

func char(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }

func TestFocusCycles(t *testing.T) {
	h := start(t, 120, 30)
	h.wait(t, "[Browser]")
	h.keys(tab)
	h.wait(t, "[Inspector]")
	h.keys(tab, tab)
	h.wait(t, "[Workspace]")
	h.keys(esc, tab) // leave typing, then on
	h.wait(t, "[Transcript]")
	// The Forge and the Entropy pane come next, in the transcript's
	// place; the one focused last stays there while another pane is
	// focused, until the transcript is again.
	h.keys(tab)
	h.wait(t, "[Forge]")
	h.screen.WaitUntil(t, 5*time.Second, "the transcript hidden", func(s string) bool { return !strings.Contains(s, "Transcript") })
	h.keys(tab)
	h.wait(t, "[Entropy]")
	h.screen.WaitUntil(t, 5*time.Second, "the Forge hidden", func(s string) bool { return !strings.Contains(s, "Forge") })
	h.keys(tab)
	h.wait(t, "[Browser]", " Entropy ")
	h.keys(shiftTab)
	h.wait(t, "[Entropy]")
	h.keys(shiftTab)
	h.wait(t, "[Forge]")
	h.keys(shiftTab)
	h.wait(t, "[Transcript]")
	h.screen.WaitUntil(t, 5*time.Second, "the Forge and Entropy hidden", func(s string) bool {
		return !strings.Contains(s, "Forge") && !strings.Contains(s, "Entropy")
	})
	h.keys(char('q'))
	h.finish(t)
}

func TestMouseClickFocuses(t *testing.T) {
	h := start(t, 120, 30)
	h.tm.Send(tea.MouseClickMsg{X: 110, Y: 2, Button: tea.MouseLeft}) // the history pane, top right
	h.wait(t, "[History]")
	h.keys(ctrlC)
	h.finish(t)
}

func TestHelpOverlay(t *testing.T) {
	h := start(t, 120, 30)
	h.keys(char('?'))
	h.wait(t, "Browser keys", "Browser action", "Global keys", "shift+tab", "ctrl+c", ":entropy :autotelic [on|off|step]", ":undo TXID :quit")
	h.keys(esc)
	h.screen.WaitUntil(t, 5*time.Second, "the help closed", func(s string) bool { return !strings.Contains(s, "Global keys") })
	h.keys(tab, tab, tab, char('?')) // the workspace is typing: ? is typed
	h.screen.WaitUntil(t, 5*time.Second, "? typed into the workspace, no help", func(s string) bool {
		return strings.Contains(s, "┃ 1 ?") && !strings.Contains(s, "Global keys")
	})
	h.keys(tea.KeyPressMsg{Code: tea.KeyF1})
	h.wait(t, "Workspace keys", "print it", "inspect it")
	h.keys(ctrlC) // asks: the workspace holds "?" never evaluated
	h.wait(t, "unsaved edit in Workspace: quit anyway? y/n")
	h.keys(char('y'))
	h.finish(t)
}

func TestCommandLine(t *testing.T) {
	h := start(t, 120, 30)
	h.keys(char(':'))
	for _, r := range "browse Lobby" {
		h.keys(char(r))
	}
	h.keys(enter)
	h.wait(t, "got browse 1", "[Browser]")
	h.keys(tab, char(':'))
	for _, r := range "inspect 1+2" {
		h.keys(char(r))
	}
	h.keys(enter)
	h.wait(t, "got inspect value 1+2", "[Inspector]")
	h.keys(char(':'))
	for _, r := range "inspect Lobby" {
		h.keys(char(r))
	}
	h.keys(enter)
	h.wait(t, "got inspect 1") // an object result is inspected as the object
	h.keys(char(':'))
	for _, r := range "transcript" {
		h.keys(char(r))
	}
	h.keys(enter)
	h.wait(t, "[Transcript]")
	h.keys(char(':'))
	for _, r := range "nonsense" {
		h.keys(char(r))
	}
	h.keys(enter)
	h.wait(t, "unknown command :nonsense")
	h.keys(char(':'), char('q'), char('u'), char('i'), char('t'), enter)
	h.finish(t)
}

func TestSearchBrowses(t *testing.T) {
	h := start(t, 120, 30)
	h.keys(char('/'))
	for _, r := range "printS" {
		h.keys(char(r))
	}
	h.wait(t, "printString", "on Lobby")
	h.keys(enter)
	h.wait(t, "got browse 1 printString")
	h.keys(char('q'))
	h.finish(t)
}

func TestQuitWithDirtyPaneAsks(t *testing.T) {
	h := start(t, 120, 30)
	h.panes["Inspector"].dirty = true // before any key: read on the UI loop only after this
	h.keys(char('q'))
	h.wait(t, "unsaved edit in Inspector: quit anyway? y/n")
	h.keys(char('n'))
	h.screen.WaitUntil(t, 5*time.Second, "the question gone", func(s string) bool { return !strings.Contains(s, "quit anyway") })
	h.keys(char('q'))
	h.wait(t, "quit anyway")
	h.keys(char('y'))
	h.finish(t)
}

func TestEventsReachTranscriptAndStatus(t *testing.T) {
	h := start(t, 120, 30)
	h.img.Emit(api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 8, Time: clock, Principal: "pLLM/BRICK"},
		Changes: []api.Change{{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "fib", Kind: api.KindMethod, Op: "added"}}}}})
	h.wait(t, "Lobby: +fib", "tx 8 pLLM/BRICK")
	h.keys(char('q'))
	h.finish(t)
}

// TestGolden renders the whole layout at 80×24 and 160×48; -update
// rewrites testdata/*.golden.
func TestGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		t.Run(itoa(uint64(size[0]))+"x"+itoa(uint64(size[1])), func(t *testing.T) {
			h := start(t, size[0], size[1])
			h.img.Emit(api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 8, Time: clock, Principal: "user"},
				Changes: []api.Change{{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "area", Kind: api.KindMethod, Op: "added"}}}}})
			h.wait(t, "tx 7", "tx 8") // tx 7: the image's history, shown on start
			h.keys(char('q'))
			h.finish(t)
			golden.RequireEqual(t, h.app.Render())
		})
	}
}

// BenchmarkFirstFrame measures from the program's start to its first
// rendered frame.
func BenchmarkFirstFrame(b *testing.B) {
	for i := 0; i < b.N; i++ {
		img := commontest.New()
		c := &common.Common{Image: img, Styles: common.DefaultStyles()}
		first := make(chan time.Time, 1)
		t0 := time.Now()
		m := app.New(c, app.Options{StatusEvery: -1, OnFirstView: func() { first <- time.Now() }})
		tm := teatest.NewTestModel(b, m, teatest.WithInitialTermSize(160, 48))
		d := (<-first).Sub(t0)
		b.ReportMetric(float64(d.Microseconds())/1000, "ms-to-first-frame")
		tm.Send(ctrlC)
		tm.WaitFinished(b, teatest.WithFinalTimeout(5*time.Second))
		m.Close()
	}
}

// TestMissedEventsResubscribe: when the image drops the subscription (an
// EventMissed, then a closed channel), the app subscribes again, has the
// panes refresh, says so, and later events arrive.
func TestMissedEventsResubscribe(t *testing.T) {
	h := start(t, 160, 30)
	h.img.Overflow(17)
	h.wait(t, "missed 17 events: resubscribed, views refreshed", "got refresh", "missed 17 events: the feed")
	if n := h.img.Subscribers(); n != 1 {
		t.Fatalf("%d subscriptions after the drop, want 1", n)
	}
	h.img.Emit(api.Event{Type: api.EventCommit, Tx: &api.Tx{ID: 9, Time: clock, Principal: "user"},
		Changes: []api.Change{{Object: api.Ref{OID: 1, Name: "Lobby"}, Slots: []api.SlotChange{{Name: "after", Kind: api.KindData, Op: "added"}}}}})
	h.wait(t, "Lobby: +after", "tx 9 user")
	if strings.Contains(h.screen.Screen(), "live feed disconnected") {
		t.Fatal("a resubscribed feed is reported lost")
	}
	h.keys(char('q'))
	h.finish(t)
}

// TestFeedClosedIsReported: a feed that closes without EventMissed (the
// image went away) is reported, not resubscribed.
func TestFeedClosedIsReported(t *testing.T) {
	h := start(t, 200, 30)
	h.app.Close()
	h.wait(t, "live feed disconnected")
	h.keys(char('q'))
	h.finish(t)
}

// TestStatusShowsRemoteAndClients: attached remotely, the status bar says
// where and as whom, and how many clients share the image.
func TestStatusShowsRemoteAndClients(t *testing.T) {
	img := commontest.New()
	img.Fixed.Remote, img.Fixed.Client, img.Fixed.Clients = "ws://10.0.0.2:7070", "remote:alice", 3
	c := &common.Common{Image: img, Styles: common.DefaultStyles(), Clock: func() time.Time { return clock }}
	m := app.New(c, app.Options{StatusEvery: -1})
	screen := commontest.Record(m)
	tm := teatest.NewTestModel(t, screen, teatest.WithInitialTermSize(220, 30))
	screen.WaitFor(t, 5*time.Second, "remote ws://10.0.0.2:7070 as remote:alice", "3 clients")
	tm.Send(ctrlC)
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestErrorTextSanitized: an error's message comes from the image (a
// script's panic can say anything); the info line cannot be made to drive
// the terminal by it.
func TestErrorTextSanitized(t *testing.T) {
	h := start(t, 160, 30)
	h.img.Errors["boom()"] = &api.Error{Kind: api.ErrPanic, Message: "panic: bad\x1b[2J\x07thing", Selector: "boom"}
	h.keys(char(':'))
	typeText(h, "inspect boom()")
	h.keys(enter)
	h.wait(t, "panic: badthing")
	h.tm.Send(app.Quit()) // a key would clear the info line
	h.finish(t)
	if r := h.app.Render(); !strings.Contains(r, "badthing") || strings.Contains(r, "\x1b[2J") || strings.Contains(r, "\x07") {
		t.Fatalf("the info line holds the message's escapes:\n%q", r)
	}
}
